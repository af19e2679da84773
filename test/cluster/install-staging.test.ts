import { lifecycleSuite } from './lifecycle.ts';

lifecycleSuite('staging');
