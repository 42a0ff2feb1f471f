import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '../src/gradients.ts';
await tf.setBackend('wasm');
const a = tf.ones([4]); 
for (let r = 0; r < 3; r++) {
let t0 = performance.now();
tf.tidy(() => { for (let i = 0; i < 10000; i++) tf.add(a, a); });
console.log('add tiny', ((performance.now() - t0) / 10).toFixed(1), 'us/op');
t0 = performance.now();
tf.tidy(() => { for (let i = 0; i < 10000; i++) tf.reshape(a, [2, 2]); });
console.log('reshape', ((performance.now() - t0) / 10).toFixed(1), 'us/op');
const x = tf.variable(tf.ones([4]));
t0 = performance.now();
for (let i = 0; i < 1000; i++) tf.variableGrads(() => tf.sum(tf.mul(tf.add(x, x), x)), [x]);
console.log('variableGrads tiny', ((performance.now() - t0)).toFixed(1), 'us/call');
}
