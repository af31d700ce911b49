using Labeling.Detection;
using Labeling.Functions.Batches;
using Labeling.Labels;
using DetectedBox = Labeling.Detection.Detection;

namespace Labeling.Functions.Tests.Batches;

/// <summary>The tag policy on hand-made detector answers: no model, no I/O.</summary>
public sealed class TagPolicyTests
{
    // Vocabulary index → name, as the handler builds it: the batch's tags, then discovery classes.
    private static readonly string[] Names = ["red fox", "cat", "tree", "car"];
    private const long FoxId = 11, CatId = 12, TreeId = 13, CarId = 14;

    private static readonly ImageTagRecord Fox = new(1, FoxId, "red fox", TagState.Unlabelled);
    private static readonly ImageTagRecord Cat = new(1, CatId, "cat", TagState.Unlabelled);

    private static readonly Proposal Small = new(10, 10, 20, 20, 0.9f);   // area 100
    private static readonly Proposal Large = new(0, 0, 50, 40, 0.2f);     // area 2000
    private static readonly Proposal Medium = new(5, 5, 35, 35, 0.7f);    // area 900

    private static DetectedBox Box(int cls, float score, float x1 = 10, float y1 = 10, float x2 = 20, float y2 = 20) => new(cls, x1, y1, x2, y2, score, 0.9f, score);

    private static DetectionResult Result(IReadOnlyList<DetectedBox> detections, params Proposal[] proposals) => new(detections, proposals);

    private static readonly Dictionary<string, long> NoDiscovery = [];

    [Fact]
    public void Apply_KeepsBoxesAtOrAboveTheThreshold_AsPseudoBoxesOfTheTagsClass()
    {
        var policy = new TagPolicy(new TagPolicyOptions { DefaultThreshold = 0.3f });

        var labels = policy.Apply(1, [Fox], Result([Box(0, 0.8f), Box(0, 0.3f, 30, 30, 40, 40), Box(0, 0.29f, 50, 50, 60, 60)], Small), Names, NoDiscovery);

        Assert.Equal(1, labels.ImageId);
        Assert.Equal([0.8f, 0.3f], labels.Boxes.Select(b => b.Score!.Value));
        Assert.All(labels.Boxes, b => Assert.Equal((FoxId, BoxSource.Pseudo), (b.ClassId, b.Source)));
        Assert.Equal(new BoxData(FoxId, 30, 30, 40, 40, 0.3f, BoxSource.Pseudo), labels.Boxes[1]);
        Assert.Equal([new TagGrounding(FoxId, TagState.Grounded)], labels.Tags);
    }

    [Fact]
    public void Apply_HonoursPerClassThresholds_GivenByAnyFormOfTheName()
    {
        var policy = new TagPolicy(new TagPolicyOptions { DefaultThreshold = 0.3f, ClassThresholds = new() { [" Red_Fox "] = 0.9f, ["cat"] = 0.1f } });

        var labels = policy.Apply(1, [Fox, Cat], Result([Box(0, 0.8f), Box(1, 0.15f)], Small), Names, NoDiscovery);

        Assert.Equal(0.9f, policy.ThresholdFor("red fox"));
        var pseudo = Assert.Single(labels.Boxes, b => b.Source == BoxSource.Pseudo);
        Assert.Equal((CatId, 0.15f), (pseudo.ClassId, pseudo.Score!.Value));
        Assert.Contains(new TagGrounding(FoxId, TagState.Weak), labels.Tags);
        Assert.Contains(new TagGrounding(CatId, TagState.Grounded), labels.Tags);
    }

    [Fact]
    public void Apply_TagWithoutABoxAboveThreshold_GetsTheLargestProposal_AsAWeakBoxScoredByItsObjectness()
    {
        var policy = new TagPolicy(new TagPolicyOptions());

        var labels = policy.Apply(1, [Fox, Cat], Result([Box(0, 0.7f)], Small, Medium, Large), Names, NoDiscovery);

        var weak = Assert.Single(labels.Boxes, b => b.Source == BoxSource.Weak);
        Assert.Equal(new BoxData(CatId, 0, 0, 50, 40, 0.2f, BoxSource.Weak), weak);
        Assert.Equal(2, labels.Boxes.Count);
        Assert.Equal([new TagGrounding(FoxId, TagState.Grounded), new TagGrounding(CatId, TagState.Weak)], labels.Tags);
    }

    [Fact]
    public void Apply_OneObjectScoredForTwoTags_KeepsOnlyTheHigherScoredLabel_TheOtherTagStaysWeak()
    {
        var policy = new TagPolicy(new TagPolicyOptions());

        // Cat's box is fox's box moved by one pixel: IoU 361 / 439 = 0.82 ≥ 0.7.
        var labels = policy.Apply(1, [Fox, Cat], Result([Box(0, 0.8f, 10, 10, 30, 30), Box(1, 0.6f, 11, 11, 31, 31)], Large), Names, NoDiscovery);

        var pseudo = Assert.Single(labels.Boxes, b => b.Source == BoxSource.Pseudo);
        Assert.Equal(FoxId, pseudo.ClassId);
        Assert.Equal([new TagGrounding(FoxId, TagState.Grounded), new TagGrounding(CatId, TagState.Weak)], labels.Tags);
        Assert.Equal(new BoxData(CatId, 0, 0, 50, 40, 0.2f, BoxSource.Weak), Assert.Single(labels.Boxes, b => b.Source == BoxSource.Weak));
    }

    [Fact]
    public void Apply_TwoTagsOnOverlappingButDifferentObjects_KeepsBoth()
    {
        var policy = new TagPolicy(new TagPolicyOptions());

        // IoU of [10,30]² and [20,40]²: 100 / 700 = 0.14.
        var labels = policy.Apply(1, [Fox, Cat], Result([Box(0, 0.8f, 10, 10, 30, 30), Box(1, 0.6f, 20, 20, 40, 40)], Large), Names, NoDiscovery);

        Assert.Equal([FoxId, CatId], labels.Boxes.Select(b => b.ClassId));
        Assert.All(labels.Boxes, b => Assert.Equal(BoxSource.Pseudo, b.Source));
        Assert.All(labels.Tags, t => Assert.Equal(TagState.Grounded, t.State));
    }

    [Fact]
    public void Apply_CrossClassThresholdOfOne_DropsOnlyIdenticalBoxes()
    {
        var policy = new TagPolicy(new TagPolicyOptions { CrossClassIouThreshold = 1 });

        var near = policy.Apply(1, [Fox, Cat], Result([Box(0, 0.8f, 10, 10, 30, 30), Box(1, 0.6f, 11, 11, 31, 31)], Large), Names, NoDiscovery);
        var same = policy.Apply(1, [Fox, Cat], Result([Box(0, 0.8f, 10, 10, 30, 30), Box(1, 0.6f, 10, 10, 30, 30)], Large), Names, NoDiscovery);

        Assert.Equal(2, near.Boxes.Count(b => b.Source == BoxSource.Pseudo));
        Assert.Equal(1, same.Boxes.Count(b => b.Source == BoxSource.Pseudo));
    }

    [Fact]
    public void Apply_EveryUngroundedTag_GetsItsOwnWeakBox()
    {
        var policy = new TagPolicy(new TagPolicyOptions());

        var labels = policy.Apply(1, [Fox, Cat], Result([], Medium, Small), Names, NoDiscovery);

        Assert.Equal([FoxId, CatId], labels.Boxes.Select(b => b.ClassId));
        Assert.All(labels.Boxes, b => Assert.Equal((5f, 5f, 35f, 35f, 0.7f, BoxSource.Weak), (b.X1, b.Y1, b.X2, b.Y2, b.Score!.Value, b.Source)));
        Assert.All(labels.Tags, t => Assert.Equal(TagState.Weak, t.State));
    }

    [Fact]
    public void Apply_WithoutProposals_RecordsTheTagWeak_WithoutABox()
    {
        var labels = new TagPolicy(new TagPolicyOptions()).Apply(1, [Fox], Result([]), Names, NoDiscovery);

        Assert.Empty(labels.Boxes);
        Assert.Equal([new TagGrounding(FoxId, TagState.Weak)], labels.Tags);
    }

    [Fact]
    public void Apply_IgnoresDetectionsOfClassesThatAreNeitherTagsNorDiscovery()
    {
        var labels = new TagPolicy(new TagPolicyOptions()).Apply(1, [Fox], Result([Box(0, 0.5f), Box(2, 0.99f), Box(9, 0.99f)], Small), Names, NoDiscovery);

        Assert.Equal([FoxId], labels.Boxes.Select(b => b.ClassId));
    }

    [Fact]
    public void Apply_Discovery_KeepsConfidentBoxesOfUntaggedClasses_AsDiscovered_AboveItsOwnThreshold()
    {
        var policy = new TagPolicy(new TagPolicyOptions { DefaultThreshold = 0.3f, DiscoveryVocabulary = ["tree", "car", "red fox"], DiscoveryThreshold = 0.6f });
        var discovery = new Dictionary<string, long> { ["tree"] = TreeId, ["car"] = CarId, ["red fox"] = FoxId };

        // fox is a tag here: its 0.4 box is pseudo (tag threshold); tree 0.7 is discovered; car 0.5 is under the discovery threshold.
        var labels = policy.Apply(1, [Fox], Result([Box(2, 0.7f), Box(0, 0.4f), Box(3, 0.5f)], Small), Names, discovery);

        Assert.True(policy.DiscoveryEnabled);
        Assert.Equal(
            [(TreeId, BoxSource.Discovered, 0.7f), (FoxId, BoxSource.Pseudo, 0.4f)],
            labels.Boxes.Select(b => (b.ClassId, b.Source, b.Score!.Value)));
        Assert.Equal([new TagGrounding(FoxId, TagState.Grounded)], labels.Tags);
    }

    [Fact]
    public void Apply_ImageWithoutTags_GetsNoBoxes_UnlessDiscoveryFindsSome()
    {
        var off = new TagPolicy(new TagPolicyOptions());
        var on = new TagPolicy(new TagPolicyOptions { DiscoveryVocabulary = ["tree"] });
        var result = Result([Box(2, 0.95f)], Small, Large);

        var withoutDiscovery = off.Apply(1, [], result, Names, NoDiscovery);
        var withDiscovery = on.Apply(1, [], result, Names, new Dictionary<string, long> { ["tree"] = TreeId });

        Assert.Empty(withoutDiscovery.Boxes);
        Assert.Empty(withoutDiscovery.Tags);
        Assert.Equal((TreeId, BoxSource.Discovered), (Assert.Single(withDiscovery.Boxes).ClassId, withDiscovery.Boxes[0].Source));
        Assert.Empty(withDiscovery.Tags);
    }

    [Fact]
    public void Apply_CapsPseudoAndDiscoveredBoxes_KeepingTheBest()
    {
        var policy = new TagPolicy(new TagPolicyOptions { MaxDetectionsPerImage = 2 });

        var labels = policy.Apply(1, [Fox], Result([Box(0, 0.5f), Box(0, 0.9f, 30, 30, 40, 40), Box(0, 0.7f, 50, 50, 60, 60)], Small), Names, NoDiscovery);

        Assert.Equal([0.9f, 0.7f], labels.Boxes.Select(b => b.Score!.Value));
    }

    [Fact]
    public void CreateRequest_ScoresEachImagesTagsAndTheDiscoveryClasses_AtTheLowestThresholdAnyImageKeeps()
    {
        var policy = new TagPolicy(new TagPolicyOptions
        {
            DefaultThreshold = 0.3f,
            ClassThresholds = new() { ["cat"] = 0.2f },
            DiscoveryVocabulary = ["tree", "cat"],
            DiscoveryThreshold = 0.6f,
            NmsIouThreshold = 0.4f,
        });
        var discovery = new Dictionary<string, long> { ["tree"] = TreeId, ["cat"] = CatId };
        IReadOnlyList<IReadOnlyList<ImageTagRecord>> tags = [[Fox], [Cat with { ImageId = 2 }], []];

        var request = policy.CreateRequest(Names, tags, discovery, vocabulary: null);

        Assert.Equal([[0, 2, 1], [1, 2], [2, 1]], request.ClassesPerImage!.Select(c => c.ToArray()));
        Assert.Equal(0.3f, request.ClassThresholds![0]);
        Assert.Equal(0.2f, request.ClassThresholds[1]); // a tag somewhere: the lower of 0.2 and 0.6
        Assert.Equal(0.6f, request.ClassThresholds[2]);
        Assert.False(request.ClassThresholds.ContainsKey(3));
        Assert.Equal(0.4f, request.NmsIouThreshold);
    }

    [Fact]
    public void Options_OutOfRange_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TagPolicy(new TagPolicyOptions { DefaultThreshold = 1.5f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TagPolicy(new TagPolicyOptions { ClassThresholds = new() { ["cat"] = -0.1f } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TagPolicy(new TagPolicyOptions { NmsIouThreshold = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TagPolicy(new TagPolicyOptions { MaxDetectionsPerImage = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TagPolicy(new TagPolicyOptions { CrossClassIouThreshold = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TagPolicy(new TagPolicyOptions { CrossClassIouThreshold = float.NaN }));
        Assert.Throws<ArgumentException>(() => new TagPolicy(new TagPolicyOptions { ClassThresholds = new() { ["Cat"] = 0.1f, ["cat "] = 0.2f } }));
        Assert.Throws<ArgumentException>(() => new TagPolicy(new TagPolicyOptions { DiscoveryVocabulary = ["  "] }));
    }
}
