using Labeling.Imaging;
using Labeling.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Labeling.Detection;

/// <summary>
/// <see cref="IDetector"/> over one ONNX Runtime session per model file (sessions are safe for
/// concurrent runs). Letterboxes each image to the model's input, runs a batch in one call, maps
/// boxes back to original pixels, scores them by the model's contract, and applies thresholds,
/// per-class NMS and the per-image maximum.
/// </summary>
public sealed partial class OnnxDetector : IDetector
{
    private readonly InferenceSession _session;
    private readonly ILogger _logger;
    private readonly string _inputName;

    private OnnxDetector(InferenceSession session, DetectorInfo info, string executionProvider, ILogger logger)
    {
        _session = session;
        Info = info;
        ExecutionProvider = executionProvider;
        _logger = logger;
        _inputName = session.InputMetadata.Keys.First();
    }

    public DetectorInfo Info { get; }

    public string ExecutionProvider { get; }

    /// <summary>
    /// Loads <paramref name="modelPath"/>, read once within <see cref="DetectorOptions.MaxModelBytes"/>; see
    /// <see cref="Load(byte[], string, DetectorOptions, ILogger?)"/>.
    /// </summary>
    public static OnnxDetector Load(string modelPath, DetectorOptions options, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        byte[] model;
        try
        {
            model = ModelFileReader.Read(modelPath, options.MaxModelBytes);
        }
        catch (OnnxModelRefusedException e)
        {
            throw new DetectorContractException(e.Message, e);
        }

        return Load(model, Path.GetFileName(modelPath), options, logger);
    }

    /// <summary>
    /// Loads a model from its bytes, after checking them (<see cref="UntrustedOnnxModel"/>: no external data, no
    /// functions of its own, no operators outside the standard domain; at most <see cref="DetectorOptions.MaxModelBytes"/>):
    /// ONNX Runtime only ever sees bytes that passed. <paramref name="name"/> is what errors call the model.
    /// </summary>
    /// <exception cref="DetectorContractException">The model is refused, is not ONNX, or follows neither contract.</exception>
    public static OnnxDetector Load(byte[] model, string name, DetectorOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        logger ??= NullLogger.Instance;
        try
        {
            if (model.Length > options.MaxModelBytes)
            {
                throw ModelFileReader.TooLarge(name, model.Length, options.MaxModelBytes);
            }

            UntrustedOnnxModel.Parse(model, name);
        }
        catch (OnnxModelRefusedException e)
        {
            throw new DetectorContractException(e.Message, e);
        }
        catch (InvalidDataException e)
        {
            throw new DetectorContractException($"{e.Message}: cannot load it.", e);
        }

        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        // The bytes were checked as ONNX: never let ONNX Runtime read them as its own .ort format instead.
        sessionOptions.AddSessionConfigEntry("session.load_model_format", "ONNX");
        if (options.IntraOpThreads > 0)
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        }

        var provider = ExecutionProviders.Configure(sessionOptions, options, logger);
        InferenceSession session;
        try
        {
            // From the checked bytes, not the path: what ONNX Runtime loads is what was checked.
            session = new InferenceSession(model, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new DetectorContractException($"ONNX Runtime cannot load '{name}': {e.Message}", e);
        }

        try
        {
            if (session.InputMetadata.Count != 1)
            {
                throw new DetectorContractException($"A detector has one image input; this model has {session.InputMetadata.Count}.");
            }

            var input = session.InputMetadata.First().Value;
            var info = DetectorInfo.FromMetadata(session.ModelMetadata.CustomMetadataMap, input.Dimensions.Select(d => (long)d).ToArray());
            var outputs = session.OutputMetadata;
            if (info.Contract == DetectorContract.RegionEmbedding)
            {
                foreach (var output in new[] { "boxes", "objectness", "embeddings" })
                {
                    if (!outputs.ContainsKey(output))
                    {
                        throw new DetectorContractException($"A {DetectorInfo.RegionEmbeddingContract} model has outputs boxes, objectness and embeddings; '{output}' is missing.");
                    }
                }
            }
            else if (outputs.Count < 1 || outputs.First().Value.Dimensions.Length != 3)
            {
                throw new DetectorContractException("A fixed-vocabulary model's first output is [B,4+C,N].");
            }

            Log.Loaded(logger, name, info.Contract == DetectorContract.RegionEmbedding ? DetectorInfo.RegionEmbeddingContract : DetectorInfo.FixedVocabularyContract, info.InputWidth, info.InputHeight, provider);
            return new OnnxDetector(session, info, provider, logger);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public IReadOnlyList<DetectionResult> Detect(IReadOnlyList<DecodedImage> images, DetectionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate(images.Count);
        if (images.Count == 0)
        {
            return [];
        }

        var vocabulary = Info.Contract == DetectorContract.RegionEmbedding ? CheckVocabulary(request) : null;
        var results = new DetectionResult[images.Count];
        var chunk = Info.FixedBatch ?? images.Count;
        for (var start = 0; start < images.Count; start += chunk)
        {
            var count = Math.Min(chunk, images.Count - start);
            RunBatch(images, start, count, request, vocabulary, results, cancellationToken);
        }

        return results;
    }

    private Labeling.Vocabulary.Vocabulary CheckVocabulary(DetectionRequest request)
    {
        var vocabulary = request.Vocabulary
            ?? throw new DetectorContractException("A region-embedding model scores classes against a vocabulary: DetectionRequest.Vocabulary is required.");
        vocabulary.EnsureSpace(Info.EmbeddingSpace!);
        return vocabulary;
    }

    private void RunBatch(
        IReadOnlyList<DecodedImage> images, int start, int count, DetectionRequest request, Labeling.Vocabulary.Vocabulary? vocabulary,
        DetectionResult[] results, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var planeSize = 3 * Info.InputWidth * Info.InputHeight;
        var input = new float[count * planeSize];
        var transforms = new LetterboxTransform[count];
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            transforms[i] = Letterbox.Fill(images[start + i], Info.InputWidth, Info.InputHeight, Info.Mean, Info.Std, input.AsSpan(i * planeSize, planeSize)));

        using var tensor = OrtValue.CreateTensorValueFromMemory(input, [count, 3, Info.InputHeight, Info.InputWidth]);
        using var runOptions = new RunOptions();
        using var cancel = cancellationToken.Register(() => runOptions.Terminate = true);
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try
        {
            outputs = _session.Run(runOptions, [_inputName], [tensor], _session.OutputNames);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        using (outputs)
        {
            var byName = _session.OutputNames.Zip(outputs).ToDictionary(p => p.First, p => p.Second);
            for (var i = 0; i < count; i++)
            {
                var classes = request.ClassesPerImage?[start + i];
                results[start + i] = Info.Contract == DetectorContract.RegionEmbedding
                    ? OutputDecoding.RegionEmbedding(byName, i, Info, vocabulary!, classes, request, transforms[i])
                    : OutputDecoding.FixedVocabulary(outputs[0], i, Info, classes, request, transforms[i]);
            }
        }
    }

    public void Dispose() => _session.Dispose();

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Loaded detector {Model} ({Contract}, input {Width}x{Height}) on {Provider}.")]
        public static partial void Loaded(ILogger logger, string model, string contract, int width, int height, string provider);
    }
}
