import type { Command } from 'commander';
import {
  Adam,
  argmaxRows,
  crossEntropy,
  IntTensor,
  init,
  Module,
  noGrad,
  Parameter,
  Rng,
  type Tensor,
  tensor,
  tidy,
} from '../../engine/index.js';

/** Three interleaved 2-D spirals: a small problem a linear model cannot solve. */
function spirals(perClass: number, rng: Rng): { x: Float32Array; y: Int32Array } {
  const classes = 3;
  const x = new Float32Array(perClass * classes * 2);
  const y = new Int32Array(perClass * classes);
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      const r = i / perClass;
      const angle = c * ((2 * Math.PI) / classes) + 4 * r + rng.normal(0, 0.15);
      const n = c * perClass + i;
      x[2 * n] = r * Math.cos(angle);
      x[2 * n + 1] = r * Math.sin(angle);
      y[n] = c;
    }
  }
  return { x, y };
}

class Mlp extends Module {
  w1: Parameter;
  b1: Parameter;
  w2: Parameter;
  b2: Parameter;

  constructor(hidden: number, rng: Rng) {
    super();
    this.w1 = new Parameter([2, hidden], init.kaimingUniform([2, hidden], rng));
    this.b1 = new Parameter([hidden]);
    this.w2 = new Parameter([hidden, 3], init.glorotUniform([hidden, 3], rng));
    this.b2 = new Parameter([3]);
  }

  forward(x: Tensor): Tensor {
    return x.matmul(this.w1).add(this.b1).relu().matmul(this.w2).add(this.b2);
  }
}

function accuracy(model: Mlp, x: Float32Array, y: Int32Array): number {
  return noGrad(() =>
    tidy(() => {
      const predicted = argmaxRows(model.forward(tensor(x, [y.length, 2])));
      return predicted.reduce((n, p, i) => n + (p === y[i] ? 1 : 0), 0) / y.length;
    }),
  );
}

function runDemo(options: { epochs: string; seed: string }): void {
  const rng = new Rng(Number(options.seed));
  const train = spirals(200, rng.fork('train'));
  const test = spirals(100, rng.fork('test'));
  const model = new Mlp(64, rng.fork('init'));
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const epochs = Number(options.epochs);
  const batch = 32;
  const n = train.y.length;
  console.log(`training a 2-layer network (${model.parameterCount()} parameters) on ${n} spiral points`);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = rng.permutation(n);
    let lossSum = 0;
    for (let start = 0; start < n; start += batch) {
      const idx = order.slice(start, start + batch);
      lossSum += tidy(() => {
        const x = tensor(Float32Array.from(idx.flatMap((i) => [train.x[2 * i], train.x[2 * i + 1]])), [
          idx.length,
          2,
        ]);
        optimizer.zeroGrad();
        const loss = crossEntropy(model.forward(x), new IntTensor(idx.map((i) => train.y[i])));
        loss.backward();
        optimizer.step();
        return loss.item() * idx.length;
      });
    }
    if (epoch % 10 === 0 || epoch === epochs) {
      const trainAcc = accuracy(model, train.x, train.y);
      console.log(
        `epoch ${String(epoch).padStart(3)}  loss ${(lossSum / n).toFixed(4)}  train accuracy ${(100 * trainAcc).toFixed(1)}%`,
      );
    }
  }
  console.log(
    `test accuracy: ${(100 * accuracy(model, test.x, test.y)).toFixed(1)}% (${test.y.length} points)`,
  );
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('train a small network on generated data and report its accuracy')
    .option('--epochs <n>', 'training epochs', '60')
    .option('--seed <n>', 'random seed', '0')
    .action(runDemo);
}
