using Google.Protobuf;
using Labeling.Onnx;
using Labeling.Onnx.Proto;

namespace Labeling.Testing;

/// <summary>
/// Writer-built detector models mutated into what a model file must not be: each one still loads in ONNX
/// Runtime (so only our own checks stop it), but reads a file beside it, runs an operator outside the
/// allowed domains, or brings its own function.
/// </summary>
public static class HostileModels
{
    /// <summary>A region-embedding model whose outputs and metadata the other mutations keep.</summary>
    public static string Detector(string path, int inputSize = 64, string space = "hashbow-8")
    {
        var d = int.Parse(space["hashbow-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var embeddings = new float[2, d];
        embeddings[0, 0] = 1;
        embeddings[1, 1] = 1;
        DetectorModels.ConstantRegionEmbedding(path, new float[,] { { 0, 0, 16, 16 }, { 8, 8, 32, 32 } }, [0.9f, 0.8f], embeddings,
            new DetectorModels.RegionSettings { InputSize = inputSize, Space = space });
        return path;
    }

    /// <summary>
    /// Moves initializer <paramref name="initializer"/>'s bytes to <paramref name="dataFolder"/>/<paramref name="location"/>
    /// (the model's own folder when null) and makes the tensor point there (<c>data_location = EXTERNAL</c>), as
    /// ONNX's external-data format does. Returns the path of the data file.
    /// </summary>
    public static string MoveToExternalData(string modelPath, string initializer, string location, string? dataFolder = null)
    {
        var model = OnnxModelFile.Load(modelPath);
        var tensor = model.Graph.Initializer.Single(t => t.Name == initializer);
        var bytes = RawBytes(tensor);
        var dataPath = Path.Combine(dataFolder ?? Path.GetDirectoryName(Path.GetFullPath(modelPath))!, location);
        File.WriteAllBytes(dataPath, bytes);
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.Empty;
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        OnnxModelFile.Save(model, modelPath);
        return dataPath;
    }

    /// <summary>
    /// Passes graph output <paramref name="output"/> through one more node, <paramref name="opType"/> in
    /// <paramref name="domain"/> (imported at <paramref name="domainVersion"/>), e.g. <c>com.microsoft</c>'s Gelu.
    /// </summary>
    public static void RouteOutputThrough(string modelPath, string output, string domain, string opType, long domainVersion = 1)
    {
        var model = OnnxModelFile.Load(modelPath);
        var producer = model.Graph.Node.Single(n => n.Output.Contains(output));
        var index = producer.Output.IndexOf(output);
        producer.Output[index] = output + "_before";
        var node = new NodeProto { Name = $"{opType}_{output}", OpType = opType, Domain = domain };
        node.Input.Add(output + "_before");
        node.Output.Add(output);
        model.Graph.Node.Add(node);
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = domainVersion });
        OnnxModelFile.Save(model, modelPath);
    }

    /// <summary>
    /// Replaces the node that produces <paramref name="output"/> with a call of a model-local function
    /// (<c>labeling.local.Passthrough</c>, one Identity) that ONNX Runtime inlines when it loads the model.
    /// </summary>
    public static void ProduceOutputByLocalFunction(string modelPath, string output)
    {
        const string domain = "labeling.local";
        var model = OnnxModelFile.Load(modelPath);
        var producer = model.Graph.Node.Single(n => n.Output.Contains(output));
        var function = new FunctionProto { Name = "Passthrough", Domain = domain };
        function.Input.Add("x");
        function.Output.Add("y");
        var identity = new NodeProto { Name = "inner", OpType = "Identity" };
        identity.Input.Add("x");
        identity.Output.Add("y");
        function.Node.Add(identity);
        function.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = model.OpsetImport.Single(o => o.Domain.Length == 0).Version });
        model.Functions.Add(function);
        var call = new NodeProto { Name = "call_passthrough", OpType = "Passthrough", Domain = domain };
        call.Input.Add(producer.Output.Count == 1 && producer.OpType == "Identity" ? producer.Input[0] : throw new InvalidOperationException($"'{output}' is not produced by an Identity node."));
        call.Output.Add(output);
        var at = model.Graph.Node.IndexOf(producer);
        model.Graph.Node[at] = call;
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = 1 });
        OnnxModelFile.Save(model, modelPath);
    }

    private static byte[] RawBytes(TensorProto tensor)
    {
        if (!tensor.RawData.IsEmpty)
        {
            return tensor.RawData.ToByteArray();
        }

        var bytes = new byte[tensor.FloatData.Count * sizeof(float)];
        for (var i = 0; i < tensor.FloatData.Count; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * sizeof(float)), tensor.FloatData[i]);
        }

        return bytes;
    }
}
