import * as tf from '@tensorflow/tfjs-core';
import '../src/gradients.ts';
import { initBackend } from '../src/backend.ts';
await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
const w = tf.tensor2d([1, 10, 100, 1000], [2, 2]);
tf.grad((x: tf.Tensor) => { const [u0, u1] = tf.unstack(x); return tf.sum(tf.mul(tf.stack([u1, u0]), w)); })(x).print();
tf.grad((x: tf.Tensor) => { const [u0, u1] = tf.unstack(x); return tf.sum(tf.mul(tf.concat([tf.reshape(u1, [1, 2]), tf.reshape(u0, [1, 2])]), w)); })(x).print();
tf.grad((x: tf.Tensor) => { const [u0, u1] = tf.unstack(x); return tf.sum(tf.add(tf.mul(u1, tf.tensor1d([1, 10])), tf.mul(u0, tf.tensor1d([100, 1000])))); })(x).print();
