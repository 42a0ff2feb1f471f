import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.ts';
await initBackend('wasm');
const tg = tf.tensor1d([1, 0, 3, 2], 'int32');
tf.oneHot(tg, 4).print();
tf.oneHot(tg, 4, 1, 0, 'float32').print();
tf.oneHot(tf.cast(tg, 'int32') as tf.Tensor1D, 4, 1, 0, 'float32').print();
