using Google.Protobuf;
using Labeling.Onnx.Proto;

namespace Labeling.Onnx;

/// <summary>
/// Checks a model file from outside before ONNX Runtime sees it. ONNX Runtime does what a file asks: it opens the
/// files an external-data tensor names (beside the model, or wherever the path leads), runs the model's own functions,
/// and runs operators from any domain it knows (the <c>com.microsoft</c> contrib kernels among them). A detector
/// needs none of this, so a model that asks for any of it is refused, with a reason naming what asked, wherever
/// it hides: initializers, sparse initializers, tensors in node attributes, and the subgraphs of If, Loop and Scan.
/// </summary>
public static class UntrustedOnnxModel
{
    /// <summary>
    /// The operator domains a model may use: the default ONNX domain, written <c>""</c> or <c>ai.onnx</c>. No detector
    /// contract needs another (the project's writer and the Ultralytics exports use the default domain only).
    /// </summary>
    public static IReadOnlySet<string> AllowedDomains { get; } = new HashSet<string>(["", "ai.onnx"], StringComparer.Ordinal);

    /// <summary>Parses <paramref name="bytes"/> as a ModelProto and checks it (<see cref="Check"/>).</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="fileName">The name errors give (a file or blob name).</param>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model.</exception>
    /// <exception cref="OnnxModelRefusedException">The model asks for something refused.</exception>
    public static ModelProto Parse(byte[] bytes, string fileName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(fileName);
        // ONNX Runtime also loads its own flatbuffer format (".ort", "ORTM" at offset 4), which these checks cannot read.
        if (bytes.Length >= 8 && bytes.AsSpan(4, 4).SequenceEqual("ORTM"u8))
        {
            throw new OnnxModelRefusedException(fileName, "it is an ONNX Runtime format (.ort) file, not ONNX, which is refused.");
        }

        ModelProto model;
        try
        {
            // The parser's recursion limit (100) bounds how deep subgraphs nest, so the walk below cannot run out of stack.
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{fileName} is not an ONNX model file ({e.Message})", e);
        }

        Check(model, fileName);
        return model;
    }

    /// <summary>Refuses a model with external data, its own functions, training information, or an operator outside <see cref="AllowedDomains"/>.</summary>
    /// <exception cref="OnnxModelRefusedException">The first thing refused.</exception>
    public static void Check(ModelProto model, string fileName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(fileName);
        if (model.Functions.Count > 0)
        {
            var names = string.Join(", ", model.Functions.Select(f => f.Domain.Length == 0 ? f.Name : $"{f.Domain}.{f.Name}"));
            throw new OnnxModelRefusedException(fileName, $"the model defines its own functions ({names}), which is refused: a detector model uses the standard ONNX operators only.");
        }

        if (model.TrainingInfo.Count > 0)
        {
            throw new OnnxModelRefusedException(fileName, "the model carries training graphs (training_info), which is refused: a detector model is an inference graph only.");
        }

        if (model.Graph is { } graph)
        {
            CheckGraph(graph, fileName, where: "");
        }
    }

    private static void CheckGraph(GraphProto graph, string fileName, string where)
    {
        foreach (var initializer in graph.Initializer)
        {
            CheckTensor(initializer, fileName, $"initializer '{initializer.Name}'{where}");
        }

        foreach (var sparse in graph.SparseInitializer)
        {
            CheckSparse(sparse, fileName, $"sparse initializer '{sparse.Values?.Name}'{where}");
        }

        foreach (var node in graph.Node)
        {
            if (!AllowedDomains.Contains(node.Domain))
            {
                throw new OnnxModelRefusedException(fileName,
                    $"node '{node.Name}'{where} runs operator '{node.OpType}' of domain '{node.Domain}', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.");
            }

            foreach (var attribute in node.Attribute)
            {
                var of = $"attribute '{attribute.Name}' of node '{node.Name}'{where}";
                if (attribute.T is { } tensor)
                {
                    CheckTensor(tensor, fileName, $"the tensor of {of}");
                }

                foreach (var t in attribute.Tensors)
                {
                    CheckTensor(t, fileName, $"a tensor of {of}");
                }

                if (attribute.SparseTensor is { } sparse)
                {
                    CheckSparse(sparse, fileName, $"the sparse tensor of {of}");
                }

                foreach (var s in attribute.SparseTensors)
                {
                    CheckSparse(s, fileName, $"a sparse tensor of {of}");
                }

                if (attribute.G is { } subgraph)
                {
                    CheckGraph(subgraph, fileName, Nested(attribute, node, where));
                }

                foreach (var g in attribute.Graphs)
                {
                    CheckGraph(g, fileName, Nested(attribute, node, where));
                }
            }
        }
    }

    private static string Nested(AttributeProto attribute, NodeProto node, string where) =>
        $" (in subgraph '{attribute.Name}' of node '{node.Name}'{where})";

    private static void CheckSparse(SparseTensorProto sparse, string fileName, string what)
    {
        if (sparse.Values is { } values)
        {
            CheckTensor(values, fileName, what);
        }

        if (sparse.Indices is { } indices)
        {
            CheckTensor(indices, fileName, what + " (its indices)");
        }
    }

    private static void CheckTensor(TensorProto tensor, string fileName, string what)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.Default && tensor.ExternalData.Count == 0)
        {
            return;
        }

        var location = tensor.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value;
        throw new OnnxModelRefusedException(fileName,
            $"{what} stores its data outside the file (external data{(location is null ? "" : $", location '{location}'")}), which is refused.");
    }
}
