using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Ops;

/// <summary>
/// RoIAlign (Mask R-CNN) as ONNX Runtime computes the ONNX <c>RoiAlign</c> operator with
/// <c>mode="avg"</c>, <c>coordinate_transformation_mode="half_pixel"</c> and a fixed
/// <c>sampling_ratio</c>, so a model trained with it exports to the same numbers. Built from
/// differentiable tensor ops: gradients reach the features and the boxes.
/// </summary>
public static class RoiAlign
{
    /// <summary>
    /// Pools each box of <paramref name="rois"/> ([N,4] x1,y1,x2,y2 in input pixels) from image
    /// <paramref name="batchIndices"/>[n] (int64, [N]) of <paramref name="features"/> ([B,C,H,W]) into
    /// [N,C,<paramref name="outputHeight"/>,<paramref name="outputWidth"/>]. Each output bin is the mean of
    /// <paramref name="samplingRatio"/>² bilinear samples; <paramref name="spatialScale"/> maps input pixels
    /// to feature cells (1/stride).
    /// </summary>
    public static Tensor Forward(Tensor features, Tensor rois, Tensor batchIndices, int outputHeight, int outputWidth,
        float spatialScale, int samplingRatio)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(rois);
        ArgumentNullException.ThrowIfNull(batchIndices);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputWidth, 1);
        // ORT's adaptive sampling (0) takes a per-box sample count, which does not batch.
        ArgumentOutOfRangeException.ThrowIfLessThan(samplingRatio, 1);
        if (features.dim() != 4)
        {
            throw new ArgumentException($"features must be [B,C,H,W], got [{string.Join(",", features.shape)}]", nameof(features));
        }
        if (rois.dim() != 2 || rois.shape[1] != 4)
        {
            throw new ArgumentException($"rois must be [N,4], got [{string.Join(",", rois.shape)}]", nameof(rois));
        }
        if (batchIndices.dim() != 1 || batchIndices.shape[0] != rois.shape[0])
        {
            throw new ArgumentException($"batchIndices must be [{rois.shape[0]}], got [{string.Join(",", batchIndices.shape)}]", nameof(batchIndices));
        }

        using var scope = NewDisposeScope();
        var (channels, height, width) = (features.shape[1], features.shape[2], features.shape[3]);
        var n = rois.shape[0];

        // half_pixel: a box edge at x pixels lies at x * scale - 0.5 in cell-centre coordinates.
        var box = rois.to(features.dtype) * spatialScale - 0.5f;
        var y = Axis(box.select(1, 1), box.select(1, 3), outputHeight, samplingRatio, height);
        var x = Axis(box.select(1, 0), box.select(1, 2), outputWidth, samplingRatio, width);

        // Features as [C, B*H*W] so that one index_select per corner gathers every sample of every box.
        var flat = features.permute(1, 0, 2, 3).reshape(channels, -1);
        var image = batchIndices.to(ScalarType.Int64).view(n, 1, 1) * (height * width);
        Tensor? sampled = null;
        foreach (var (row, rowWeight) in new[] { (y.Low, y.LowWeight), (y.High, y.HighWeight) })
        {
            foreach (var (column, columnWeight) in new[] { (x.Low, x.LowWeight), (x.High, x.HighWeight) })
            {
                var index = image + row.unsqueeze(2) * width + column.unsqueeze(1);             // [N,Sy,Sx]
                var weight = rowWeight.unsqueeze(2) * columnWeight.unsqueeze(1);                // [N,Sy,Sx]
                var corner = flat.index_select(1, index.flatten()).view(channels, n, index.shape[1], index.shape[2]) * weight;
                sampled = sampled is null ? corner : sampled + corner;
            }
        }

        // Mean over each bin's samplingRatio × samplingRatio samples: [C,N,Ph,r,Pw,r] → [N,C,Ph,Pw].
        var pooled = sampled!.view(channels, n, outputHeight, samplingRatio, outputWidth, samplingRatio)
            .sum([3, 5]) / (samplingRatio * samplingRatio);
        return pooled.permute(1, 0, 2, 3).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Sample positions along one axis for every box ([N, pooled*ratio]): the two neighbouring cells and
    /// their bilinear weights, with ORT's edge rules folded into the weights.
    /// </summary>
    private static AxisSamples Axis(Tensor start, Tensor end, int pooled, int ratio, long size)
    {
        var n = start.shape[0];
        var bin = ((end - start) / pooled).view(n, 1, 1);
        var cell = arange(pooled, start.dtype, start.device).view(1, pooled, 1);
        var sub = (arange(ratio, start.dtype, start.device) + 0.5).view(1, 1, ratio);
        // Same operation order as ORT (start + p*bin + (i+0.5)*bin/ratio) so edge tests agree bit for bit.
        var position = (start.view(n, 1, 1) + cell * bin + sub * bin / ratio).view(n, pooled * ratio);

        // ORT drops samples beyond one cell outside the map, and clamps the rest onto it.
        var valid = position.ge(-1).logical_and(position.le(size)).to(start.dtype);
        var clamped = position.clamp(0, size - 1);
        var low = clamped.detach().floor().to(ScalarType.Int64);
        var high = (low + 1).clamp_max(size - 1);
        var fraction = clamped - low.to(start.dtype);
        return new AxisSamples(low, high, (1 - fraction) * valid, fraction * valid);
    }

    private sealed record AxisSamples(Tensor Low, Tensor High, Tensor LowWeight, Tensor HighWeight);
}
