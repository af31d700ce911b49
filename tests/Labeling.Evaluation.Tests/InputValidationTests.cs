namespace Labeling.Evaluation.Tests;

/// <summary>Hostile or broken input fails with an <see cref="EvaluationInputException"/> that says what is wrong.</summary>
public sealed class InputValidationTests
{
    private const string GroundTruth = """
        { "images": [{ "id": 1 }, { "id": 2 }], "categories": [{ "id": 1, "name": "cat" }],
          "annotations": [{ "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0 }] }
        """;

    private static string Message(Action action) => Assert.Throws<EvaluationInputException>(action).Message;

    [Fact]
    public void MalformedJson_SaysItIsNotJson()
    {
        Assert.Contains("not valid JSON", Message(() => CocoDataset.Parse("{ \"images\": [", "gt.json")), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Message(() => CocoResults.Parse("[{", CocoDataset.Parse(GroundTruth))), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "categories": [], "annotations": [] }""", "'images'")]
    [InlineData("""{ "images": [{ "id": 1 }], "categories": [{ "id": 1 }], "annotations": [] }""", "'name'")]
    [InlineData("""{ "images": [], "categories": [], "annotations": [{ "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1] }] }""", "'area'")]
    [InlineData("""{ "images": [], "categories": [], "annotations": [{ "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "area": 1 }] }""", "four numbers")]
    [InlineData("""{ "images": [], "categories": [], "annotations": [{ "id": "x", "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1 }] }""", "'id' must be an integer")]
    [InlineData("""[1, 2]""", "expected a COCO document")]
    public void GroundTruth_MissingOrWrongFields_AreNamed(string json, string expected)
    {
        Assert.Contains(expected, Message(() => CocoDataset.Parse(json)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{ "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10] }]""", "'score'")]
    [InlineData("""[{ "image_id": 1, "category_id": 1, "score": 0.5 }]""", "'bbox'")]
    [InlineData("""[{ "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5 }]""", "'image_id'")]
    [InlineData("""[{ "image_id": 1, "category_id": 1, "bbox": [0, 0, -10, 10], "score": 0.5 }]""", "negative width or height")]
    [InlineData("""{ "images": [] }""", "results list")]
    public void Results_MissingFieldsAndNegativeBoxes_AreNamed(string json, string expected)
    {
        Assert.Contains(expected, Message(() => CocoResults.Parse(json, CocoDataset.Parse(GroundTruth))), StringComparison.Ordinal);
    }

    [Fact]
    public void Results_ForImagesNotInTheGroundTruth_AreRefused_WithTheIds()
    {
        var json = """[{ "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5 }, { "image_id": 77, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5 }]""";

        var message = Message(() => CocoResults.Parse(json, CocoDataset.Parse(GroundTruth)));

        Assert.Contains("not in the ground truth", message, StringComparison.Ordinal);
        Assert.Contains("77", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Results_LoadResSemantics_IdsFromOne_AreaWTimesH_NotCrowd()
    {
        var json = """[{ "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "area": 999, "id": 42, "iscrowd": 1 }]""";

        var d = Assert.Single(CocoResults.Parse(json, CocoDataset.Parse(GroundTruth)));

        Assert.Equal(new CocoAnnotation(1, 2, 1, new CocoBox(1, 2, 3, 4), 12, false, 0.5), d);
    }

    [Fact]
    public void MissingFiles_AreNamed()
    {
        Assert.Contains("not found", Message(() => CocoDataset.Load("/nonexistent/gt.json")), StringComparison.Ordinal);
        Assert.Contains("not found", Message(() => VocTextFormat.ReadFolder("/nonexistent/gts", detections: false)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("object 1 2 3", false, "expected 'class x y w h'")]
    [InlineData("object .5 1 2 3 x", true, "not a number")]
    [InlineData("object 1 2 -3 4", false, "negative width")]
    public void VocText_BadLines_AreNamedWithTheirLineNumber(string line, bool detections, string expected)
    {
        var message = Message(() => VocTextFormat.Parse("\n" + line, "img", detections, "f.txt").ToList());

        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("f.txt:2", message, StringComparison.Ordinal);
    }
}
