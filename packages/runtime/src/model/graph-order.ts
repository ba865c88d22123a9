/** Which order of products a pruned graph convolution runs in: shared by the engine and the FLOPs count. */
/** What decides the cheaper order of a graph convolution (all counts after compaction). */
export interface GraphConvolutionShape {
  nodes: number;
  /** Channels each alive head mixes. */
  channelCounts: readonly number[];
  /** Live filters F'. */
  filters: number;
  /** Node channels available to every head (chunks · live encoder columns). */
  width: number;
}

export interface GraphConvolutionOrder {
  /**
   * false: mix every head's channels, then one product, (A^k·U)·W^k. true: one product from the node
   * channels to every head's filters, mix those, and sum over heads, A^k·(U·W^k).
   */
  filtersFirst: boolean;
  /** Multiply-adds per sequence of the product (dense on the compacted matrix of that order). */
  convMacs: number;
  /** Multiply-adds per sequence of the mixing (and, filters first, the sum over heads). */
  mixMacs: number;
}

/**
 * Σ_k A^k·U·W^k computes the same numbers in either order. The dense network mixes as many channels
 * as it has filters, so both cost the same and channels first is kept; once pruning leaves fewer
 * filters than a head mixes channels, mixing the filters is cheaper. The runtime runs the order chosen
 * here, and the reported FLOPs count it.
 */
export function graphConvolutionOrder(s: GraphConvolutionShape): GraphConvolutionOrder {
  const heads = s.channelCounts.length;
  const mixedChannels = s.channelCounts.reduce((a, b) => a + b, 0);
  const channelsFirst = {
    convMacs: s.nodes * s.filters * mixedChannels,
    mixMacs: s.nodes ** 2 * mixedChannels,
  };
  const stacked = heads * s.filters;
  const filtersFirst = {
    convMacs: s.nodes * stacked * s.width,
    mixMacs: s.nodes ** 2 * stacked + s.nodes * stacked,
  };
  const total = (o: { convMacs: number; mixMacs: number }) => o.convMacs + o.mixMacs;
  return total(filtersFirst) < total(channelsFirst)
    ? { filtersFirst: true, ...filtersFirst }
    : { filtersFirst: false, ...channelsFirst };
}
