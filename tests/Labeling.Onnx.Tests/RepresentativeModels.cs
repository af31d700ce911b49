using Labeling.Onnx.Proto;

namespace Labeling.Onnx.Tests;

/// <summary>One small model per kind the writer produces, together covering every helper.</summary>
internal static class RepresentativeModels
{
    private const TensorElementType F = TensorElementType.Float;
    private const TensorElementType I64 = TensorElementType.Int64;

    public static readonly IReadOnlyDictionary<string, Func<ModelProto>> All = new Dictionary<string, Func<ModelProto>>
    {
        ["conv-stack"] = ConvStack,
        ["elementwise"] = Elementwise,
        ["shape-ops-17"] = () => ShapeOps(17, 8),
        ["shape-ops-13"] = () => ShapeOps(13, 7),
        ["shape-ops-11"] = () => ShapeOps(11, 6),
        ["reductions-17"] = () => Reductions(17, 8),
        ["reductions-13"] = () => Reductions(13, 7),
        ["reductions-11"] = () => Reductions(11, 6),
        ["resize-17"] = () => Resize(17, 8),
        ["resize-11"] = () => Resize(11, 6),
        ["roi-align-embedding"] = RoiAlignEmbedding,
        ["nms-topk-17"] = () => NmsTopK(17, 8),
        ["nms-topk-11"] = () => NmsTopK(11, 6),
        ["explicit-nodes"] = ExplicitNodes,
    };

    private static float[] Ramp(int count) => [.. Enumerable.Range(0, count).Select(i => (i % 7 - 3) / 10f)];

    private static ModelProto ConvStack()
    {
        var b = new OnnxGraphBuilder("conv_stack");
        var x = b.Input("images", F, "batch", 3, 32, 32);
        var c1 = b.Relu(b.Conv(x, Ramp(8 * 3 * 3 * 3), [8, 3, 3, 3], Ramp(8), strides: [2, 2], pads: [1, 1, 1, 1], prefix: "stem"));
        var c2 = b.Sigmoid(b.Conv(c1, Ramp(8 * 4 * 3 * 3), [8, 4, 3, 3], pads: [1, 1, 1, 1], group: 2));
        var pooled = b.MaxPool(c2, [2, 2], strides: [2, 2]);
        var flat = b.Reshape(b.GlobalAveragePool(pooled), 0, -1);
        var w = b.Initializer("head.weight", Ramp(4 * 8), 4, 8);
        var bias = b.Initializer("head.bias", Ramp(4), 4);
        b.Output(b.Identity(b.Gemm(flat, w, bias, transB: true), "logits"), F, "batch", 4);
        b.Output(pooled, F, "batch", 8, 8, 8);
        b.Metadata("labeling.contract", "region-embedding/1");
        b.Metadata("labeling.input_size", "32");
        return b.Build();
    }

    private static ModelProto Elementwise()
    {
        var b = new OnnxGraphBuilder("elementwise");
        var a = b.Input("a", F, 2, 3);
        var c = b.Input("c", F, 2, 3);
        var sum = b.Add(a, c);
        var diff = b.Sub(a, c);
        var prod = b.Mul(sum, diff);
        var quot = b.Div(prod, b.Exp(c));
        var root = b.Sqrt(b.Clip(quot, 0f, 6f));
        var floor = b.Clip(b.Max(root, a), min: 0.5f);
        var ceiling = b.Clip(floor, max: 2f);
        b.Output(ceiling, F, 2, 3);
        b.Output(b.Softmax(b.MatMul(a, b.Transpose(c, 1, 0)), -1), F, 2, 2);
        // beta 0.0 and transA 0 are default values that must still reach the checker.
        b.Output(b.Gemm(a, c, alpha: 0.5f, beta: 0f, transB: true), F, 2, 2);
        b.Output(b.Cast(a, I64), I64, 2, 3);
        return b.Build();
    }

    private static ModelProto ShapeOps(int opset, long ir)
    {
        var b = new OnnxGraphBuilder("shape_ops", opset, ir);
        var x = b.Input("x", F, "batch", 4, 6);
        var first = b.Initializer("first", [0L]);
        b.Output(b.Gather(b.Shape(x), first), I64);
        var unsqueezed = b.Unsqueeze(x, 1);
        b.Output(unsqueezed, F, "batch", 1, 4, 6);
        b.Output(b.Squeeze(unsqueezed, 1), F, "batch", 4, 6);
        b.Output(b.Slice(x, [0], [2], [1]), F, "batch", 2, 6);
        b.Output(b.Slice(x, [0, 0], [4, 6], [1, 2], [2, 3]), F, "batch", 2, 2);
        b.Output(b.Concat([x, x], 0), F, "concat", 4, 6);
        b.Output(b.Transpose(x, 0, 2, 1), F, "batch", 6, 4);
        b.Output(b.Squeeze(b.Unsqueeze(x, 0)), F, "batch", 4, 6);
        return b.Build();
    }

    private static ModelProto Reductions(int opset, long ir)
    {
        var b = new OnnxGraphBuilder("reductions", opset, ir);
        var x = b.Input("x", F, "batch", 5, 7);
        b.Output(b.ReduceMean(x, [2]), F, "batch", 5, 1);
        b.Output(b.ReduceMax(x, [1], keepDims: false), F, "batch", 7);
        b.Output(b.ReduceSum(x, [1, 2], keepDims: false), F, "batch");
        b.Output(b.ReduceMean(x, []), F, 1, 1, 1);
        b.Output(b.LpNormalization(x), F, "batch", 5, 7);
        b.Output(b.L2Normalize(x, 1), F, "batch", 5, 7);
        return b.Build();
    }

    private static ModelProto Resize(int opset, long ir)
    {
        var b = new OnnxGraphBuilder("resize", opset, ir);
        var x = b.Input("x", F, 1, 3, 8, 8);
        b.Output(b.Resize(x, scales: [1f, 1f, 2f, 2f]), F, 1, 3, 16, 16);
        b.Output(b.Resize(x, sizes: [1, 3, 4, 4], mode: "linear", coordinateTransformationMode: "half_pixel"), F, 1, 3, 4, 4);
        return b.Build();
    }

    private static ModelProto RoiAlignEmbedding()
    {
        var b = new OnnxGraphBuilder("roi_align");
        var features = b.Input("features", F, 1, 8, 16, 16);
        var rois = b.Input("rois", F, "r", 4);
        var batch = b.Input("batch_indices", I64, "r");
        var pooled = b.RoiAlign(features, rois, batch, 7, 7, samplingRatio: 2, spatialScale: 0.25f);
        b.Output(pooled, F, "r", 8, 7, 7);
        var embedding = b.L2Normalize(b.ReduceMean(pooled, [2, 3], keepDims: false));
        b.Output(b.Identity(embedding, "embeddings"), F, "r", 8);
        b.Metadata("labeling.embedding_space", "hashbow-256");
        return b.Build();
    }

    private static ModelProto NmsTopK(int opset, long ir)
    {
        var b = new OnnxGraphBuilder("nms_topk", opset, ir);
        var boxes = b.Input("boxes", F, 1, "n", 4);
        var scores = b.Input("scores", F, 1, 3, "n");
        b.Output(b.NonMaxSuppression(boxes, scores, 10, 0.5f, 0.05f), I64, "selected", 3);
        var (values, indices) = b.TopK(scores, 5);
        b.Output(values, F, 1, 3, 5);
        b.Output(indices, I64, 1, 3, 5);
        var k = b.Initializer("k", [2L], 1);
        var (low, lowIndices) = b.TopK(scores, k, axis: 2, largest: false);
        b.Output(low, F, 1, 3, 2);
        b.Output(lowIndices, I64, 1, 3, 2);
        return b.Build();
    }

    private static ModelProto ExplicitNodes()
    {
        var b = new OnnxGraphBuilder("explicit_nodes");
        var x = b.Input("x", F, "batch", 10);
        var max = b.Initializer("six", [6f]);
        b.Node("Clip", [x, "", max], ["clipped"]);
        var k = b.Initializer("k3", [3L], 1);
        var top = b.Node("TopK", ["clipped", k], 2, OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("largest", 1));
        b.Output(top[0], F, "batch", 3);
        b.Output(top[1], I64, "batch", 3);
        b.Node("Concat", ["clipped", "clipped"], ["joined"], OnnxAttribute.Int("axis", 0));
        b.Output("joined", F, "rows", 10);
        var fill = b.Node("ConstantOfShape", [b.Shape("joined")], OnnxAttribute.Tensor("value", OnnxTensor.Float("value", [0f], 1)));
        b.Output(fill, F, "rows", 10);
        b.Metadata("names", "{0: 'cat', 1: 'dog'}");
        return b.Build();
    }
}
