/**
 * The reference training workload of the engine issue: a 2-layer graph network on a batch of
 * 32 graphs × 42 nodes, 64 → 128 → 128 channels, 45 classes, a learned adjacency, a sigmoid mask on
 * every weight; one step = forward + backward + Adam. Target ≤ 15 ms (tfjs-wasm ~28 ms, plain TS ~58).
 */
import {
  Adam,
  crossEntropy,
  IntTensor,
  init,
  Module,
  matmul,
  mean,
  Parameter,
  Rng,
  randn,
  type Tensor,
  tidy,
} from '../src/engine/index.js';

const BATCH = 32;
const NODES = 42;
const CHANNELS = [64, 128, 128];
const CLASSES = 45;

/** A weight whose effective value is W ⊙ sigmoid(mask logits). */
class MaskedWeight extends Module {
  weight: Parameter;
  maskLogits: Parameter;

  constructor(fanIn: number, fanOut: number, rng: Rng) {
    super();
    this.weight = new Parameter([fanIn, fanOut], init.glorotUniform([fanIn, fanOut], rng));
    this.maskLogits = new Parameter([fanIn, fanOut], new Float32Array(fanIn * fanOut).fill(3));
  }

  effective(): Tensor {
    return this.weight.mul(this.maskLogits.sigmoid());
  }
}

class ReferenceGraphNet extends Module {
  adjacency: Parameter;
  layers: MaskedWeight[];
  biases: Parameter[];
  classifier: MaskedWeight;

  constructor(rng: Rng) {
    super();
    this.adjacency = new Parameter([NODES, NODES], init.glorotUniform([NODES, NODES], rng));
    this.layers = [
      new MaskedWeight(CHANNELS[0], CHANNELS[1], rng),
      new MaskedWeight(CHANNELS[1], CHANNELS[2], rng),
    ];
    this.biases = [new Parameter([CHANNELS[1]]), new Parameter([CHANNELS[2]])];
    this.classifier = new MaskedWeight(CHANNELS[2], CLASSES, rng);
  }

  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = matmul(this.adjacency, h).matmul(layer.effective()).add(this.biases[i]).relu();
    });
    return mean(h, 1).matmul(this.classifier.effective());
  }
}

export interface TrainStepResult {
  medianMs: number;
  p90Ms: number;
  parameters: number;
  steps: number;
}

export function benchTrainStep(steps = 40, warmup = 8): TrainStepResult {
  const rng = new Rng(0);
  const model = new ReferenceGraphNet(rng);
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const x = randn([BATCH, NODES, CHANNELS[0]], rng);
  const labels = new IntTensor(Array.from({ length: BATCH }, () => rng.int(CLASSES)));
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const start = performance.now();
    tidy(() => {
      optimizer.zeroGrad();
      crossEntropy(model.forward(x), labels).backward();
      optimizer.step();
    });
    if (i >= warmup) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: times[Math.floor(times.length / 2)],
    p90Ms: times[Math.floor(times.length * 0.9)],
    parameters: model.parameterCount(),
    steps,
  };
}
