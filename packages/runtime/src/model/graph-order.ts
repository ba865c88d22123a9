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
  /**
   * Kept entries of the conv weight when it runs sparse: the products then multiply only those, in
   * either order (the filters-first stack holds the same entries). Absent, they run dense and
   * multiply every entry of their compacted matrix.
   */
  convNonzeros?: number;
}

export interface GraphConvolutionOrder {
  /**
   * false: mix every head's channels, then one product, (A^k·U)·W^k. true: one product from the node
   * channels to every head's filters, mix those, and sum over heads, A^k·(U·W^k).
   */
  filtersFirst: boolean;
  /** Multiply-adds per sequence of the product, as it runs (dense or sparse). */
  convMacs: number;
  /** Multiply-adds per sequence of the mixing (and, filters first, the sum over heads). */
  mixMacs: number;
}

/**
 * Σ_k A^k·U·W^k computes the same numbers in either order; the cheaper one runs, counting the
 * multiply-adds each order executes. Dense, the stack multiplies every channel into every head's
 * filters, so filters first pays only once pruning leaves far fewer filters than a head mixes
 * channels. Sparse, both orders multiply the same kept weights, and filters first pays as soon as
 * the heads mix more channels than they stack filters. The dense network mixes as many channels as
 * it has filters and stays channels first either way. The runtime runs the order chosen here, and
 * the reported FLOPs count it.
 */
export function graphConvolutionOrder(s: GraphConvolutionShape): GraphConvolutionOrder {
  const heads = s.channelCounts.length;
  const mixedChannels = s.channelCounts.reduce((a, b) => a + b, 0);
  const stacked = heads * s.filters;
  const channelsFirst = {
    convMacs: s.nodes * (s.convNonzeros ?? s.filters * mixedChannels),
    mixMacs: s.nodes ** 2 * mixedChannels,
  };
  const filtersFirst = {
    convMacs: s.nodes * (s.convNonzeros ?? stacked * s.width),
    mixMacs: s.nodes ** 2 * stacked + s.nodes * stacked,
  };
  const total = (o: { convMacs: number; mixMacs: number }) => o.convMacs + o.mixMacs;
  return total(filtersFirst) < total(channelsFirst)
    ? { filtersFirst: true, ...filtersFirst }
    : { filtersFirst: false, ...channelsFirst };
}
