/**
 * The CTF mask, masked weight and budget loss against PyTorch values (σ = 0.02, 4×4 blocks), composed
 * (weight.mul(ctfMask), maskMass) and fused (ctfMaskedWeight, weightedMass) as the pruner computes them.
 */
import { describe, it } from 'node:test';
import { Parameter, tidy } from '../../src/engine/index.js';
import { tiling } from '../../src/model/layers.js';
import { budgetLoss, ctfMask, ctfMaskedWeight, weightedMass } from '../../src/prune/ctf.js';
import { assertClose, type Fixture, loadFixture } from '../helpers.js';
import { maskMass } from './composed.js';

function tilingOf(fixture: Fixture, rows: number, cols: number) {
  const { block_rows: r, block_cols: c } = fixture.attrs as { block_rows: number; block_cols: number };
  return tiling({ kind: 'tiles', rows: r, cols: c }, rows, cols);
}

/** Checks `run` against fixture `name`: output, and input gradients from the fixture's output gradient. */
function check(
  name: string,
  run: (f: Fixture, inputs: Record<string, Parameter>) => ReturnType<typeof ctfMask>,
  title = name,
): void {
  it(title, () => {
    const fixture = loadFixture(name);
    tidy(() => {
      const inputs = Object.fromEntries(
        Object.entries(fixture.inputs).map(([k, v]) => [
          k,
          new Parameter(v.shape, Float32Array.from(v.data)),
        ]),
      );
      const out = run(fixture, inputs);
      assertClose(out.data, fixture.output.data, { rtol: 1e-5, atol: 1e-6, label: `${name} output` });
      out.backward(new Parameter(out.shape, Float32Array.from(fixture.grad_output.data)));
      for (const [key, expected] of Object.entries(fixture.grads)) {
        assertClose(inputs[key].grad!.data, expected.data, {
          rtol: 1e-5,
          atol: 1e-6,
          label: `${name} d${key}`,
        });
      }
    });
  });
}

const options = (f: Fixture) => ({ sigma: f.attrs.sigma as number, scale: 1, variant: 'full' as const });

describe('CTF against PyTorch fixtures', () => {
  check('ctf_mask', (f, { w }) => ctfMask(w, tilingOf(f, 8, 12), options(f)));
  check('ctf_masked_weight', (f, { w }) => w.mul(ctfMask(w, tilingOf(f, 8, 12), options(f))));
  check('ctf_budget_loss', (f, { w1, w2 }) =>
    budgetLoss(
      maskMass([
        { psi: ctfMask(w1, tilingOf(f, 8, 12), options(f)), weight: 1 },
        { psi: ctfMask(w2, tilingOf(f, 12, 4), options(f)), weight: 1 },
      ]),
      f.attrs.c as number,
      f.attrs.lambda as number,
    ),
  );
  check(
    'ctf_masked_weight',
    (f, { w }) => ctfMaskedWeight(w, tilingOf(f, 8, 12), options(f)).weight,
    'ctf_masked_weight, fused',
  );
  check(
    'ctf_budget_loss',
    (f, { w1, w2 }) =>
      budgetLoss(
        weightedMass([
          { mass: ctfMaskedWeight(w1, tilingOf(f, 8, 12), options(f)).mass, weight: 1 },
          { mass: ctfMaskedWeight(w2, tilingOf(f, 12, 4), options(f)).mass, weight: 1 },
        ]),
        f.attrs.c as number,
        f.attrs.lambda as number,
      ),
    'ctf_budget_loss, fused (the budget alone: the effective weights get no gradient)',
  );
});
