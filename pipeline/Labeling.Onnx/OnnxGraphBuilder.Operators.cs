namespace Labeling.Onnx;

// Thin helpers over Node() for the operators the detector and the trainer export use. Each emits
// the signature of the builder's opset: where ONNX moved an attribute to an input (Slice at 10,
// Clip at 11, ReduceSum/Unsqueeze/Squeeze at 13, the other Reduce* at 18) the helper writes
// whichever form the opset defines, and refuses what the opset cannot express.
public sealed partial class OnnxGraphBuilder
{
    public string Relu(string x) => Node("Relu", [x]);

    public string Sigmoid(string x) => Node("Sigmoid", [x]);

    public string Sqrt(string x) => Node("Sqrt", [x]);

    public string Exp(string x) => Node("Exp", [x]);

    public string Shape(string x) => Node("Shape", [x]);

    public string GlobalAveragePool(string x) => Node("GlobalAveragePool", [x]);

    /// <summary>Copies <paramref name="x"/> to a value named <paramref name="output"/> (e.g. a contract output name).</summary>
    public string Identity(string x, string output) => Node("Identity", [x], [output])[0];

    public string Add(string a, string b) => Node("Add", [a, b]);

    public string Sub(string a, string b) => Node("Sub", [a, b]);

    public string Mul(string a, string b) => Node("Mul", [a, b]);

    public string Div(string a, string b) => Node("Div", [a, b]);

    public string Max(string a, string b) => Node("Max", [a, b]);

    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    /// <summary>Y = alpha·op(A)·op(B) + beta·C, C optional (null).</summary>
    public string Gemm(string a, string b, string? c = null, float alpha = 1f, float beta = 1f, bool transA = false, bool transB = false) =>
        Node("Gemm", c is null ? [a, b] : [a, b, c],
            OnnxAttribute.Float("alpha", alpha), OnnxAttribute.Float("beta", beta),
            OnnxAttribute.Int("transA", transA ? 1 : 0), OnnxAttribute.Int("transB", transB ? 1 : 0));

    /// <summary>Convolution over existing weight [M, C/group, k...] and optional bias [M] values.</summary>
    public string Conv(string x, string weight, string? bias = null, long[]? strides = null, long[]? pads = null,
        long group = 1, long[]? dilations = null)
    {
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Int("group", group) };
        if (strides is not null)
        {
            attributes.Add(OnnxAttribute.Ints("strides", strides));
        }
        if (pads is not null)
        {
            attributes.Add(OnnxAttribute.Ints("pads", pads));
        }
        if (dilations is not null)
        {
            attributes.Add(OnnxAttribute.Ints("dilations", dilations));
        }
        return Node("Conv", bias is null ? [x, weight] : [x, weight, bias], [.. attributes]);
    }

    /// <summary>
    /// Convolution whose weight [M, C/group, k...] and optional bias [M] become initializers named
    /// <c>{prefix}.weight</c> and <c>{prefix}.bias</c> (a fresh prefix when null).
    /// </summary>
    public string Conv(string x, float[] weight, long[] weightDims, float[]? bias = null, long[]? strides = null,
        long[]? pads = null, long group = 1, long[]? dilations = null, string? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(weightDims);
        if (weightDims.Length < 3)
        {
            throw new ArgumentException("a Conv weight has dims [M, C/group, k...]", nameof(weightDims));
        }
        if (bias is not null && bias.Length != weightDims[0])
        {
            throw new ArgumentException($"the bias has {bias.Length} values but the weight has {weightDims[0]} output channels", nameof(bias));
        }
        prefix ??= FreshName("conv");
        var w = Initializer($"{prefix}.weight", weight, weightDims);
        var b = bias is null ? null : Initializer($"{prefix}.bias", bias, bias.Length);
        return Conv(x, w, b, strides, pads, group, dilations);
    }

    public string MaxPool(string x, long[] kernelShape, long[]? strides = null, long[]? pads = null)
    {
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Ints("kernel_shape", kernelShape) };
        if (strides is not null)
        {
            attributes.Add(OnnxAttribute.Ints("strides", strides));
        }
        if (pads is not null)
        {
            attributes.Add(OnnxAttribute.Ints("pads", pads));
        }
        return Node("MaxPool", [x], [.. attributes]);
    }

    /// <summary>Reshape to a shape held in an int64 value.</summary>
    public string Reshape(string x, string shape) => Node("Reshape", [x, shape]);

    /// <summary>Reshape to a constant shape (0 copies the input dimension, -1 is inferred).</summary>
    public string Reshape(string x, params long[] shape) => Reshape(x, Int64Constant("shape", shape, shape.Length));

    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], OnnxAttribute.Ints("perm", perm));

    public string Concat(IReadOnlyList<string> inputs, long axis) => Node("Concat", inputs, OnnxAttribute.Int("axis", axis));

    public string Gather(string data, string indices, long axis = 0) => Node("Gather", [data, indices], OnnxAttribute.Int("axis", axis));

    public string Cast(string x, TensorElementType to) => Node("Cast", [x], OnnxAttribute.Int("to", (long)to));

    /// <summary>Softmax over <paramref name="axis"/>; before opset 13 only the last axis (-1) means the same thing.</summary>
    public string Softmax(string x, long axis = -1)
    {
        if (Opset < 13 && axis != -1)
        {
            throw new NotSupportedException($"Softmax before opset 13 flattens from the axis on; only axis -1 is supported at opset {Opset}");
        }
        return Node("Softmax", [x], OnnxAttribute.Int("axis", axis));
    }

    /// <summary>Slice with constant starts/ends (and optional axes/steps).</summary>
    public string Slice(string x, long[] starts, long[] ends, long[]? axes = null, long[]? steps = null)
    {
        ArgumentNullException.ThrowIfNull(starts);
        ArgumentNullException.ThrowIfNull(ends);
        if (Opset < 10)
        {
            if (steps is not null && steps.Any(s => s != 1))
            {
                throw new NotSupportedException($"Slice steps need opset 10; this graph targets opset {Opset}");
            }
            var attributes = new List<OnnxAttribute> { OnnxAttribute.Ints("starts", starts), OnnxAttribute.Ints("ends", ends) };
            if (axes is not null)
            {
                attributes.Add(OnnxAttribute.Ints("axes", axes));
            }
            return Node("Slice", [x], [.. attributes]);
        }
        var inputs = new List<string> { x, Int64Constant("starts", starts, starts.Length), Int64Constant("ends", ends, ends.Length) };
        if (axes is not null || steps is not null)
        {
            inputs.Add(axes is null ? "" : Int64Constant("axes", axes, axes.Length));
        }
        if (steps is not null)
        {
            inputs.Add(Int64Constant("steps", steps, steps.Length));
        }
        return Node("Slice", inputs);
    }

    public string ReduceMean(string x, long[] axes, bool keepDims = true) => Reduce("ReduceMean", 18, x, axes, keepDims);

    public string ReduceMax(string x, long[] axes, bool keepDims = true) => Reduce("ReduceMax", 18, x, axes, keepDims);

    /// <summary>ReduceSum; its axes became an input at opset 13, five versions before the other Reduce* ops.</summary>
    public string ReduceSum(string x, long[] axes, bool keepDims = true) => Reduce("ReduceSum", 13, x, axes, keepDims);

    /// <summary>Clip to [min, max]; null leaves that side open.</summary>
    public string Clip(string x, float? min = null, float? max = null)
    {
        if (Opset < 11)
        {
            var attributes = new List<OnnxAttribute>();
            if (min is { } lo)
            {
                attributes.Add(OnnxAttribute.Float("min", lo));
            }
            if (max is { } hi)
            {
                attributes.Add(OnnxAttribute.Float("max", hi));
            }
            return Node("Clip", [x], [.. attributes]);
        }
        var inputs = new List<string> { x };
        if (min is not null || max is not null)
        {
            inputs.Add(min is { } lo ? FloatConstant("min", [lo]) : "");
        }
        if (max is { } hi2)
        {
            inputs.Add(FloatConstant("max", [hi2]));
        }
        return Node("Clip", inputs);
    }

    public string Unsqueeze(string x, params long[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0)
        {
            throw new ArgumentException("Unsqueeze needs at least one axis", nameof(axes));
        }
        return Opset < 13
            ? Node("Unsqueeze", [x], OnnxAttribute.Ints("axes", axes))
            : Node("Unsqueeze", [x, Int64Constant("axes", axes, axes.Length)]);
    }

    /// <summary>Squeeze the given axes, or every size-1 axis when none are given.</summary>
    public string Squeeze(string x, params long[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0)
        {
            return Node("Squeeze", [x]);
        }
        return Opset < 13
            ? Node("Squeeze", [x], OnnxAttribute.Ints("axes", axes))
            : Node("Squeeze", [x, Int64Constant("axes", axes, axes.Length)]);
    }

    /// <summary>
    /// Resize by constant scales or to constant sizes (exactly one). Opset 10 knows only scales and
    /// the asymmetric transformation; from 11 the mode strings are written as given.
    /// </summary>
    public string Resize(string x, float[]? scales = null, long[]? sizes = null, string mode = "nearest",
        string coordinateTransformationMode = "asymmetric", string nearestMode = "floor")
    {
        if ((scales is null) == (sizes is null))
        {
            throw new ArgumentException("give exactly one of scales and sizes");
        }
        RequireOpset(10, "Resize");
        if (Opset == 10)
        {
            if (sizes is not null || coordinateTransformationMode != "asymmetric")
            {
                throw new NotSupportedException("Resize at opset 10 takes only scales with the asymmetric transformation");
            }
            return Node("Resize", [x, FloatConstant("scales", scales!, scales!.Length)], OnnxAttribute.String("mode", mode));
        }
        OnnxAttribute[] attributes =
        [
            OnnxAttribute.String("mode", mode),
            OnnxAttribute.String("coordinate_transformation_mode", coordinateTransformationMode),
            OnnxAttribute.String("nearest_mode", nearestMode),
        ];
        // Opset 11 and 12 require the roi and scales inputs to be present (empty tensors when unused).
        var roi = Opset < 13 ? FloatConstant("roi", [], 0) : "";
        var scaleInput = scales is not null
            ? FloatConstant("scales", scales, scales.Length)
            : Opset < 13 ? FloatConstant("scales", [], 0) : "";
        return sizes is null
            ? Node("Resize", [x, roi, scaleInput], attributes)
            : Node("Resize", [x, roi, scaleInput, Int64Constant("sizes", sizes, sizes.Length)], attributes);
    }

    /// <summary>The k largest (or smallest) values along an axis and their int64 indices.</summary>
    public (string Values, string Indices) TopK(string x, long k, long axis = -1, bool largest = true, bool sorted = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (Opset < 10)
        {
            if (!largest || !sorted)
            {
                throw new NotSupportedException($"TopK before opset 11 returns the largest values, sorted; this graph targets opset {Opset}");
            }
            var old = Node("TopK", [x], 2, OnnxAttribute.Int("k", k), OnnxAttribute.Int("axis", axis));
            return (old[0], old[1]);
        }
        return TopK(x, Int64Constant("k", [k], 1), axis, largest, sorted);
    }

    /// <summary>TopK with K read from an int64 tensor of shape [1] (opset 10 and later).</summary>
    public (string Values, string Indices) TopK(string x, string k, long axis = -1, bool largest = true, bool sorted = true)
    {
        RequireOpset(10, "TopK with a K input");
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Int("axis", axis) };
        if (Opset >= 11)
        {
            attributes.Add(OnnxAttribute.Int("largest", largest ? 1 : 0));
            attributes.Add(OnnxAttribute.Int("sorted", sorted ? 1 : 0));
        }
        else if (!largest || !sorted)
        {
            throw new NotSupportedException($"TopK before opset 11 returns the largest values, sorted; this graph targets opset {Opset}");
        }
        var outputs = Node("TopK", [x, k], 2, [.. attributes]);
        return (outputs[0], outputs[1]);
    }

    /// <summary>
    /// RoIAlign of <paramref name="rois"/> [R,4] (x1,y1,x2,y2) over features [N,C,H,W]; batchIndices is
    /// int64 [R]. The coordinate transformation attribute exists from opset 16; earlier opsets
    /// behave as "output_half_pixel" and accept only that.
    /// </summary>
    public string RoiAlign(string x, string rois, string batchIndices, long outputHeight, long outputWidth,
        long samplingRatio = 0, float spatialScale = 1f, string mode = "avg", string coordinateTransformationMode = "half_pixel")
    {
        RequireOpset(10, "RoiAlign");
        var attributes = new List<OnnxAttribute>
        {
            OnnxAttribute.String("mode", mode),
            OnnxAttribute.Int("output_height", outputHeight),
            OnnxAttribute.Int("output_width", outputWidth),
            OnnxAttribute.Int("sampling_ratio", samplingRatio),
            OnnxAttribute.Float("spatial_scale", spatialScale),
        };
        if (Opset >= 16)
        {
            attributes.Add(OnnxAttribute.String("coordinate_transformation_mode", coordinateTransformationMode));
        }
        else if (coordinateTransformationMode != "output_half_pixel")
        {
            throw new NotSupportedException(
                $"RoiAlign before opset 16 always uses output_half_pixel; '{coordinateTransformationMode}' needs opset 16 (this graph: {Opset})");
        }
        return Node("RoiAlign", [x, rois, batchIndices], [.. attributes]);
    }

    /// <summary>
    /// Per-class NMS over boxes [B,N,4] and scores [B,C,N]; returns selected indices [S,3]
    /// (batch, class, box) as int64. The limits become scalar initializers; max_output_boxes_per_class
    /// is always given because its default, 0, selects nothing.
    /// </summary>
    public string NonMaxSuppression(string boxes, string scores, long maxOutputBoxesPerClass, float iouThreshold,
        float scoreThreshold, bool centerPointBox = false)
    {
        RequireOpset(10, "NonMaxSuppression");
        return NonMaxSuppression(boxes, scores, Int64Constant("max_output_boxes_per_class", [maxOutputBoxesPerClass]),
            FloatConstant("iou_threshold", [iouThreshold]), FloatConstant("score_threshold", [scoreThreshold]), centerPointBox);
    }

    /// <summary>NMS with the limits read from values: int64 and float scalars.</summary>
    public string NonMaxSuppression(string boxes, string scores, string maxOutputBoxesPerClass, string iouThreshold,
        string scoreThreshold, bool centerPointBox = false)
    {
        RequireOpset(10, "NonMaxSuppression");
        return Node("NonMaxSuppression", [boxes, scores, maxOutputBoxesPerClass, iouThreshold, scoreThreshold],
            OnnxAttribute.Int("center_point_box", centerPointBox ? 1 : 0));
    }

    /// <summary>ONNX LpNormalization: x / ||x||_p along an axis, no epsilon (a zero vector gives NaN).</summary>
    public string LpNormalization(string x, long axis = -1, long p = 2) =>
        Node("LpNormalization", [x], OnnxAttribute.Int("axis", axis), OnnxAttribute.Int("p", p));

    /// <summary>x / max(||x||₂, epsilon) along an axis, as torch.nn.functional.normalize computes it.</summary>
    public string L2Normalize(string x, long axis = -1, float epsilon = 1e-12f)
    {
        RequireOpset(8, "L2Normalize (Max with broadcasting)");
        var norm = Sqrt(ReduceSum(Mul(x, x), [axis], keepDims: true));
        return Div(x, Max(norm, FloatConstant("epsilon", [epsilon])));
    }

    private string Reduce(string opType, int axesInputSince, string x, long[] axes, bool keepDims)
    {
        ArgumentNullException.ThrowIfNull(axes);
        var keep = OnnxAttribute.Int("keepdims", keepDims ? 1 : 0);
        if (Opset < axesInputSince)
        {
            return axes.Length == 0
                ? Node(opType, [x], keep)
                : Node(opType, [x], OnnxAttribute.Ints("axes", axes), keep);
        }
        return axes.Length == 0
            ? Node(opType, [x], keep)
            : Node(opType, [x, Int64Constant("axes", axes, axes.Length)], keep);
    }

    private void RequireOpset(int since, string what)
    {
        if (Opset < since)
        {
            throw new NotSupportedException($"{what} needs opset {since} or later; this graph targets opset {Opset}");
        }
    }

    private string Int64Constant(string hint, long[] values, params long[] dims) => Initializer(FreshName(hint), values, dims);

    private string FloatConstant(string hint, float[] values, params long[] dims) => Initializer(FreshName(hint), values, dims);
}
