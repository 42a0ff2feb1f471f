import * as tf from '@tensorflow/tfjs-core';
import '../src/gradients.ts';
import { initBackend } from '../src/backend.ts';
await initBackend('wasm');
const x = tf.tensor1d([1, -2, 3]);
try { tf.grad((x: tf.Tensor) => tf.sum(tf.logSigmoid(tf.mul(x, 2))))(x).print(); } catch (e) { console.log('A', (e as Error).message); }
try { tf.grad((x: tf.Tensor) => tf.sum(tf.logSigmoid(x)))(x).print(); } catch (e) { console.log('B', (e as Error).message); }
