using Labeling.Onnx.Proto;

namespace Labeling.Onnx.Tests;

/// <summary>
/// The fields <see cref="UntrustedOnnxModel"/> reads (external data, functions, sparse initializers, training graphs) carry
/// the official numbers: models written by the reference library (Debian's python3-onnx) are refused for what they
/// are, and the reference library reads our external-data tensor as external.
/// </summary>
public sealed class ReferenceUntrustedModelTests : IDisposable
{
    // One model per way out of the file, written by onnx itself; each beside a plain model that passes.
    private const string Writer = """
        import onnx, sys, os
        from onnx import helper, TensorProto, numpy_helper
        from onnx.external_data_helper import set_external_data
        import numpy as np
        out = sys.argv[1]
        def external(t, location):
            t.raw_data = np.array([1, 2, 3, 4], dtype=np.float32).tobytes()
            set_external_data(t, location=location)
            t.ClearField('raw_data')
            t.data_location = TensorProto.EXTERNAL
            return t
        def model(nodes, inits=(), **kw):
            g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [4])],
                                  [helper.make_tensor_value_info('y', TensorProto.FLOAT, [4])], list(inits))
            return helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], **kw)
        add = helper.make_node('Add', ['x', 'w'], ['y'], name='add')
        w = numpy_helper.from_array(np.ones(4, dtype=np.float32), 'w')
        onnx.save(model([add], [w]), os.path.join(out, 'plain.onnx'))
        onnx.save(model([add], [external(numpy_helper.from_array(np.ones(4, dtype=np.float32), 'w'), 'w.bin')]), os.path.join(out, 'external.onnx'))
        m = model([add], [w]); s = m.graph.sparse_initializer.add()
        s.values.CopyFrom(external(numpy_helper.from_array(np.ones(1, dtype=np.float32), 'sw'), 'sw.bin'))
        s.indices.CopyFrom(numpy_helper.from_array(np.zeros(1, dtype=np.int64), 'sw_i')); s.dims.extend([4])
        onnx.save(m, os.path.join(out, 'sparse.onnx'))
        c = helper.make_node('Constant', [], ['t'], name='inner_const', value=external(numpy_helper.from_array(np.ones(4, dtype=np.float32), 'c'), 'c.bin'))
        then_g = helper.make_graph([c], 'then_g', [], [helper.make_tensor_value_info('t', TensorProto.FLOAT, [4])])
        else_g = helper.make_graph([helper.make_node('Identity', ['x'], ['e'], name='else_id')], 'else_g', [], [helper.make_tensor_value_info('e', TensorProto.FLOAT, [4])])
        branch = helper.make_node('If', ['cond'], ['z'], name='branch', then_branch=then_g, else_branch=else_g)
        onnx.save(model([add, branch], [w]), os.path.join(out, 'subgraph.onnx'))
        f = helper.make_function('custom', 'Helper', ['a'], ['b'], [helper.make_node('Identity', ['a'], ['b'])], [helper.make_opsetid('', 17)])
        m = model([add], [w], functions=[f]); onnx.save(m, os.path.join(out, 'function.onnx'))
        m = model([add], [w]); m.training_info.add().algorithm.CopyFrom(helper.make_graph([], 'step', [], []))
        onnx.save(m, os.path.join(out, 'training.onnx'))
        g = model([add], [w]); g.graph.node[0].domain = 'com.microsoft'; onnx.save(g, os.path.join(out, 'foreign.onnx'))
        """;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("labeling-untrusted-ref-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task ModelsWrittenByTheReferenceLibrary_AreRefusedForWhatTheyAsk()
    {
        var (exitCode, output) = await PythonCheckerTests.RunPythonAsync(TestContext.Current.CancellationToken, "-c", Writer, _directory.FullName);
        Assert.True(exitCode == 0, output);
        string Refusal(string name) => Assert.Throws<OnnxModelRefusedException>(() =>
            UntrustedOnnxModel.Parse(File.ReadAllBytes(Path.Combine(_directory.FullName, name)), name)).Reason;

        Assert.Equal("w", Assert.Single(UntrustedOnnxModel.Parse(File.ReadAllBytes(Path.Combine(_directory.FullName, "plain.onnx")), "plain.onnx").Graph.Initializer).Name);
        Assert.Equal("initializer 'w' stores its data outside the file (external data, location 'w.bin'), which is refused.", Refusal("external.onnx"));
        Assert.Equal("sparse initializer 'sw' stores its data outside the file (external data, location 'sw.bin'), which is refused.", Refusal("sparse.onnx"));
        Assert.Equal(
            "the tensor of attribute 'value' of node 'inner_const' (in subgraph 'then_branch' of node 'branch') stores its data outside the file (external data, location 'c.bin'), which is refused.",
            Refusal("subgraph.onnx"));
        Assert.Equal("the model defines its own functions (custom.Helper), which is refused: a detector model uses the standard ONNX operators only.", Refusal("function.onnx"));
        Assert.Contains("training_info", Refusal("training.onnx"), StringComparison.Ordinal);
        Assert.Contains("of domain 'com.microsoft'", Refusal("foreign.onnx"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OurExternalDataTensor_IsExternalToTheReferenceLibrary()
    {
        var g = new OnnxGraphBuilder("g");
        g.Identity(g.Add(g.Input("x", TensorElementType.Float, 4), g.Initializer("w", [1f, 2f, 3f, 4f], 4)), "y");
        g.Output("y", TensorElementType.Float, 4);
        var model = g.Build();
        var w = model.Graph.Initializer[0];
        w.FloatData.Clear();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" });
        var path = Path.Combine(_directory.FullName, "ours.onnx");
        OnnxModelFile.Save(model, path);

        var (exitCode, output) = await PythonCheckerTests.RunPythonAsync(TestContext.Current.CancellationToken, "-c",
            "import onnx,sys; from onnx.external_data_helper import uses_external_data; m=onnx.load(sys.argv[1], load_external_data=False); " +
            "t=m.graph.initializer[0]; print(uses_external_data(t), t.data_location == onnx.TensorProto.EXTERNAL, [(e.key, e.value) for e in t.external_data])",
            path);

        Assert.True(exitCode == 0, output);
        Assert.Equal("True True [('location', 'w.bin')]", output.Trim());
    }
}
