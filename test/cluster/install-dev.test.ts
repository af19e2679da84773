import { lifecycleSuite } from './lifecycle.ts';

lifecycleSuite('dev');
