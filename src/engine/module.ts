/**
 * Parameters and modules with PyTorch's conventions: a `Module` finds its parameters and submodules
 * through its own properties (in declaration order), names them with dotted paths ("conv.weight"),
 * and saves/restores them through `stateDict()` / `loadStateDict()`.
 */
import { SkelpruneError } from '../errors.js';
import { kernels } from './backend.js';
import { formatShape, type Shape, sizeOf } from './shape.js';
import { Storage, Tensor } from './tensor.js';

/** A trainable tensor: persistent (outlives tidy scopes) and requiring gradients. */
export class Parameter extends Tensor {
  constructor(shape: Shape, values?: Float32Array) {
    super(shape, new Storage(kernels().heap, sizeOf(shape), true));
    this.requiresGrad = true;
    if (values) {
      if (values.length !== this.size) {
        throw new RangeError(`Parameter: ${values.length} values do not fill shape ${formatShape(shape)}`);
      }
      this.data.set(values);
    } else {
      this.data.fill(0);
    }
  }

  /** A parameter holding a copy of a tensor's data. */
  static from(t: Tensor): Parameter {
    return new Parameter(t.shape, t.data);
  }
}

/**
 * A network or a part of one (PyTorch's `nn.Module`): subclasses hold `Parameter`s and submodules as
 * properties (arrays of them too) and define their own forward method; this base class finds them.
 */
export abstract class Module {
  /** Training mode (true, the default) or evaluation mode; set by `train()` and `eval()`. */
  training = true;

  /** Parameters of this module and its submodules, with dotted names, in declaration order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [key, value] of Object.entries(this)) {
      const name = prefix + key;
      if (value instanceof Parameter) out.push([name, value]);
      else if (value instanceof Module) out.push(...value.namedParameters(`${name}.`));
      else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item instanceof Parameter) out.push([`${name}.${i}`, item]);
          else if (item instanceof Module) out.push(...item.namedParameters(`${name}.${i}.`));
        });
      }
    }
    return out;
  }

  /** Parameters of this module and its submodules, in declaration order (PyTorch's `parameters()`). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Submodules (recursively), this one included. */
  modules(): Module[] {
    const out: Module[] = [this];
    for (const value of Object.values(this)) {
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) if (item instanceof Module) out.push(...item.modules());
    }
    return out;
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode (dropout, augmentation) on this module and every submodule. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode on this module and every submodule: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Name → tensor sharing the parameters' data (copy it to snapshot). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters. Strict mode (the default) requires exactly the same names;
   * shapes must always match. Errors list every offending name.
   */
  loadStateDict(state: Record<string, { shape: Shape; data: Float32Array }>, strict = true): void {
    const params = new Map(this.namedParameters());
    const problems: string[] = [];
    for (const [name, value] of Object.entries(state)) {
      const param = params.get(name);
      if (!param) {
        if (strict) problems.push(`unexpected key '${name}'`);
        continue;
      }
      if (param.shape.length !== value.shape.length || param.shape.some((d, i) => d !== value.shape[i])) {
        problems.push(
          `'${name}' has shape ${formatShape(value.shape)}, the model expects ${formatShape(param.shape)}`,
        );
      }
    }
    if (strict)
      for (const name of params.keys()) if (!(name in state)) problems.push(`missing key '${name}'`);
    if (problems.length > 0) throw new SkelpruneError(`loadStateDict: ${problems.join('; ')}`);
    for (const [name, value] of Object.entries(state)) params.get(name)?.data.set(value.data);
  }
}
