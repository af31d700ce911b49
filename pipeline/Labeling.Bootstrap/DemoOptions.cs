namespace Labeling.Bootstrap;

/// <summary>Which classes the tag-only set shows.</summary>
public enum DemoTags
{
    /// <summary>Every class, novel ones included (the bootstrap).</summary>
    All,

    /// <summary>Base classes only: the control run that shows the gain comes from the novel tags.</summary>
    BaseOnly,
}

/// <summary>How <c>labeling demo</c> runs: the world's size, the training budget of each round, where files go.</summary>
public sealed record DemoOptions
{
    /// <summary>Where the world's local copy, the models and the report go (default <c>data/demo</c>).</summary>
    public string WorkFolder { get; init; } = Path.Combine("data", "demo");

    /// <summary>Dataset names get this prefix (<c>demo-base</c>, <c>demo-tagged</c>, <c>demo-gold</c>); model versions too.</summary>
    public string Prefix { get; init; } = "demo";

    /// <summary>Seed of the world and of training.</summary>
    public int Seed { get; init; } = 7;

    /// <summary>Image side and the detector's input size.</summary>
    public int ImageSize { get; init; } = 128;

    /// <summary>Scenes with human boxes of the base classes.</summary>
    public int BaseImages { get; init; } = 600;

    /// <summary>Tag-only images (one or two large objects each).</summary>
    public int TaggedImages { get; init; } = 900;

    /// <summary>Boxed gold scenes of every class (the evaluation split).</summary>
    public int GoldImages { get; init; } = 300;

    /// <summary>Which classes the tag-only images show.</summary>
    public DemoTags Tags { get; init; } = DemoTags.All;

    /// <summary>Model preset (<c>tiny</c>, <c>small</c>, <c>base</c>); its input size becomes <see cref="ImageSize"/>.</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Steps of the seed detector (base boxes only).</summary>
    public int SeedSteps { get; init; } = 3000;

    /// <summary>Bootstrap rounds after the seed: retrain on pseudo boxes and tags, label again.</summary>
    public int Rounds { get; init; } = 2;

    /// <summary>Steps of each bootstrap round (warm-started from the previous model).</summary>
    public int RoundSteps { get; init; } = 1500;

    /// <summary>
    /// Tag-only batches per box batch in the rounds (default 1). Detic's 1:4 suits millions of tagged images; here the
    /// pseudo boxes are most of what the tags teach, and 1:4 would leave a 600-step round 120 box steps.
    /// </summary>
    public int TagBatchesPerBoxBatch { get; init; } = 1;

    /// <summary>Train the oracle (boxes for every class) with as many steps as the seed and all rounds together.</summary>
    public bool Oracle { get; init; } = true;

    public int BatchSize { get; init; } = 8;

    public float LearningRate { get; init; } = 2e-3f;

    /// <summary>Peak learning rate of the warm-started rounds.</summary>
    public float RoundLearningRate { get; init; } = 1e-3f;

    /// <summary>libtorch and ONNX Runtime threads (default: every core).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>cpu, cuda or auto (the trainer's device).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Run a label worker in this process (the CLI); false when the host's workers label (the dashboard job).</summary>
    public bool RunWorker { get; init; } = true;

    /// <summary>The defaults of <c>labeling demo --quick</c>: within 15 minutes on a 2-core machine.</summary>
    public static DemoOptions Quick { get; } = new()
    {
        BaseImages = 400, TaggedImages = 600, GoldImages = 200, SeedSteps = 1500, Rounds = 1, RoundSteps = 600,
    };

    /// <summary>The model versions: <c>demo-seed</c>, <c>demo-r1</c>, …</summary>
    public string Version(int round) => round == 0 ? $"{Prefix}-seed" : $"{Prefix}-r{round}";

    public string BaseDataset => $"{Prefix}-base";

    public string TaggedDataset => $"{Prefix}-tagged";

    public string GoldDataset => $"{Prefix}-gold";

    /// <summary>Throws with the setting that cannot work.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(WorkFolder);
        if (Prefix.Length == 0 || Prefix.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            throw new ArgumentException($"Prefix '{Prefix}' must be lower-case letters, digits or '-'.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BaseImages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(TaggedImages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(GoldImages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(SeedSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(Rounds);
        ArgumentOutOfRangeException.ThrowIfLessThan(RoundSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(TagBatchesPerBoxBatch);
        ArgumentOutOfRangeException.ThrowIfLessThan(Threads, 1);
        if (ImageSize % 16 != 0 || ImageSize < 64)
        {
            throw new ArgumentException($"ImageSize {ImageSize} must be a multiple of 16, at least 64.");
        }
    }
}
