import { lifecycleSuite } from './lifecycle.ts';

lifecycleSuite('prod');
