using Labeling.Onnx.Proto;

namespace Labeling.Onnx;

/// <summary>
/// Builds one ONNX model (a single graph in the default domain) node by node. Value names are
/// strings: every method that adds a value returns its name for the next call. Problems that only
/// show in the whole graph (undefined inputs, duplicate names, order) are collected by
/// <see cref="Validate"/>; <see cref="Build"/> refuses a graph that has any.
/// </summary>
public sealed partial class OnnxGraphBuilder
{
    /// <summary>Lowest default-domain opset the builder writes.</summary>
    public const int MinOpset = 7;

    /// <summary>Highest default-domain opset the builder writes.</summary>
    public const int MaxOpset = 21;

    /// <summary>The producer name written to every model.</summary>
    public const string ProducerName = "labeling";

    private readonly List<ValueInfoProto> _inputs = [];
    private readonly List<ValueInfoProto> _outputs = [];
    private readonly List<TensorProto> _initializers = [];
    private readonly List<NodeProto> _nodes = [];
    private readonly OrderedDictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);
    private int _counter;

    /// <param name="graphName">Name of the graph (required by ONNX).</param>
    /// <param name="opset">Default-domain opset; helpers emit the operator signature of this version.</param>
    /// <param name="irVersion">ModelProto.ir_version (8 for opset 17).</param>
    public OnnxGraphBuilder(string graphName, int opset = 17, long irVersion = 8)
    {
        ArgumentException.ThrowIfNullOrEmpty(graphName);
        GraphName = graphName;
        Opset = opset;
        IrVersion = irVersion;
    }

    public string GraphName { get; }

    public int Opset { get; }

    public long IrVersion { get; }

    /// <summary>Declares a graph input and returns its name.</summary>
    public string Input(string name, TensorElementType type, params OnnxDim[] dims)
    {
        _inputs.Add(ValueInfo(name, type, dims));
        _usedNames.Add(name);
        return name;
    }

    /// <summary>Declares a graph output; the name must be produced by a node, an input or an initializer.</summary>
    public void Output(string name, TensorElementType type, params OnnxDim[] dims) =>
        _outputs.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a float32 initializer; data length must equal the product of dims.</summary>
    public string Initializer(string name, float[] data, params long[] dims) => Initializer(OnnxTensor.Float(name, data, dims));

    /// <summary>Adds an int64 initializer; data length must equal the product of dims.</summary>
    public string Initializer(string name, long[] data, params long[] dims) => Initializer(OnnxTensor.Int64(name, data, dims));

    /// <summary>Adds an int32 initializer; data length must equal the product of dims.</summary>
    public string Initializer(string name, int[] data, params long[] dims) => Initializer(OnnxTensor.Int32(name, data, dims));

    /// <summary>Adds a prepared tensor (e.g. raw_data weights) as an initializer; its size is checked by <see cref="Validate"/>.</summary>
    public string Initializer(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentException.ThrowIfNullOrEmpty(tensor.Name, nameof(tensor));
        _initializers.Add(tensor.Clone());
        _usedNames.Add(tensor.Name);
        return tensor.Name;
    }

    /// <summary>Adds a single-output node and returns its generated, unique output name. "" as an input omits an optional input.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes) =>
        Node(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> generated, unique output names and returns them.</summary>
    public IReadOnlyList<string> Node(string opType, IReadOnlyList<string> inputs, int outputCount, params OnnxAttribute[] attributes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outputCount, 1);
        var nodeName = FreshName(string.IsNullOrEmpty(opType) ? "node" : opType);
        var outputs = outputCount == 1
            ? [nodeName]
            : Enumerable.Range(0, outputCount).Select(i => Claim($"{nodeName}_out{i}")).ToArray();
        AddNode(opType, nodeName, inputs, outputs, attributes);
        return outputs;
    }

    /// <summary>Adds a node whose outputs carry the given names ("" omits an optional output) and returns them.</summary>
    public IReadOnlyList<string> Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count == 0 || outputs.Any(o => o is null))
        {
            throw new ArgumentException("a node needs at least one output and no null output names", nameof(outputs));
        }
        foreach (var output in outputs)
        {
            _usedNames.Add(output);
        }
        AddNode(opType, FreshName(string.IsNullOrEmpty(opType) ? "node" : opType), inputs, [.. outputs], attributes);
        return [.. outputs];
    }

    /// <summary>Sets a ModelProto.metadata_props entry; a later call with the same key replaces the value.</summary>
    public void Metadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>
    /// Every problem with the graph, one sentence each naming the offender: an undefined or
    /// out-of-order node input, a name defined twice, an output nobody produces, an initializer
    /// whose data does not fit its dims, an empty op type, an opset outside 7..21.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Opset is < MinOpset or > MaxOpset)
        {
            problems.Add($"opset {Opset} is outside the supported range {MinOpset}..{MaxOpset}");
        }

        var definitions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Define(string name, string where)
        {
            if (name.Length == 0)
            {
                return;
            }
            if (!definitions.TryGetValue(name, out var list))
            {
                definitions[name] = list = [];
            }
            list.Add(where);
        }

        foreach (var input in _inputs)
        {
            Define(input.Name, "graph input");
        }
        foreach (var tensor in _initializers)
        {
            Define(tensor.Name, "initializer");
            if (OnnxTensor.Problem(tensor) is { } problem)
            {
                problems.Add(problem);
            }
        }
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _nodes.Count; i++)
        {
            foreach (var output in _nodes[i].Output)
            {
                Define(output, $"output of {Describe(_nodes[i])}");
                if (output.Length > 0)
                {
                    producer.TryAdd(output, i);
                }
            }
        }
        foreach (var (name, where) in definitions)
        {
            if (where.Count > 1)
            {
                problems.Add($"name '{name}' is defined {where.Count} times: {string.Join("; ", where)}");
            }
        }

        var available = new HashSet<string>(_inputs.Select(v => v.Name).Concat(_initializers.Select(t => t.Name)), StringComparer.Ordinal);
        for (var i = 0; i < _nodes.Count; i++)
        {
            var node = _nodes[i];
            if (node.OpType.Length == 0)
            {
                problems.Add($"node #{i} '{node.Name}' has an empty op type");
            }
            foreach (var input in node.Input)
            {
                if (input.Length == 0 || available.Contains(input))
                {
                    continue;
                }
                if (producer.TryGetValue(input, out var j))
                {
                    problems.Add(j == i
                        ? $"{Describe(node)} reads its own output '{input}'"
                        : $"{Describe(node)} reads '{input}' before {Describe(_nodes[j])} produces it; nodes must be in topological order");
                }
                else
                {
                    problems.Add($"{Describe(node)} reads '{input}', which is not defined (no graph input, initializer or node output has that name)");
                }
            }
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                available.Add(output);
            }
        }

        if (_outputs.Count == 0)
        {
            problems.Add("the graph declares no outputs");
        }
        var seenOutputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in _outputs)
        {
            if (!seenOutputs.Add(output.Name))
            {
                problems.Add($"graph output '{output.Name}' is declared more than once");
            }
            else if (!available.Contains(output.Name))
            {
                problems.Add($"graph output '{output.Name}' is not produced by any node, graph input or initializer");
            }
        }
        return problems;
    }

    /// <summary>Validates and builds the model; throws <see cref="OnnxValidationException"/> listing every problem.</summary>
    public ModelProto Build()
    {
        var problems = Validate();
        if (problems.Count > 0)
        {
            throw new OnnxValidationException(GraphName, problems);
        }
        var graph = new GraphProto { Name = GraphName };
        graph.Input.AddRange(_inputs.Select(v => v.Clone()));
        graph.Output.AddRange(_outputs.Select(v => v.Clone()));
        graph.Initializer.AddRange(_initializers.Select(t => t.Clone()));
        graph.Node.AddRange(_nodes.Select(n => n.Clone()));

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString(3) ?? "",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in _metadata)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        return model;
    }

    private void AddNode(string opType, string nodeName, IReadOnlyList<string> inputs, string[] outputs, OnnxAttribute[] attributes)
    {
        ArgumentNullException.ThrowIfNull(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        if (inputs.Any(i => i is null))
        {
            throw new ArgumentException($"node '{nodeName}': input names may be \"\" (omitted) but not null", nameof(inputs));
        }
        var duplicate = attributes.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"node '{nodeName}': attribute '{duplicate.Key}' is given more than once", nameof(attributes));
        }
        var node = new NodeProto { Name = nodeName, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes.Select(a => a.Proto.Clone()));
        _nodes.Add(node);
    }

    /// <summary>The preferred name when still free, else a fresh one derived from it.</summary>
    private string Claim(string preferred) => _usedNames.Add(preferred) ? preferred : FreshName(preferred);

    /// <summary>A name no value or node of this builder uses yet.</summary>
    private string FreshName(string hint)
    {
        string name;
        do
        {
            name = $"{hint}_{_counter++}";
        }
        while (!_usedNames.Add(name));
        return name;
    }

    private static string Describe(NodeProto node) => $"node '{node.Name}' ({node.OpType})";

    private static ValueInfoProto ValueInfo(string name, TensorElementType type, OnnxDim[] dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dims);
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            var d = new TensorShapeProto.Types.Dimension();
            if (dim.Value is { } value)
            {
                d.DimValue = value;
            }
            else if (dim.Param is { } param)
            {
                d.DimParam = param;
            }
            shape.Dim.Add(d);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
