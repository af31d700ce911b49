using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Imaging;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Testing;
using Labeling.Vocabulary;
using static Labeling.Functions.Tests.PersonUnicornModel;

namespace Labeling.Functions.Tests.Host;

/// <summary>
/// The seeding and checking the host tests share, on any backend, around <see cref="PersonUnicornModel"/>
/// (boxes known in closed form).
/// </summary>
internal static class HostScenario
{
    /// <summary>Boxes one labelling gives an image tagged "person" and "unicorn": two persons (the third proposal is suppressed) and a weak unicorn.</summary>
    public const int BoxesPerPersonUnicornImage = 3;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static byte[] Photo(string name) => File.ReadAllBytes(RepoPaths.SharedData("images", name));

    /// <summary>Writes the model as models/v1.onnx, registers it with its sha256 and activates it (unless told not to); returns its id.</summary>
    public static async Task<long> RegisterModelAsync(ILabelStore store, IBlobStore blobs, string folder, bool activate = true)
    {
        var path = PersonUnicornModel.Write(folder);
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        using (var content = new MemoryStream(bytes))
        {
            await blobs.WriteAsync("models/v1.onnx", content, overwrite: false, Ct);
        }

        var id = await store.RegisterModelAsync(new NewModel("v1", DetectorInfo.RegionEmbeddingContract, "models/v1.onnx", Convert.ToHexStringLower(SHA256.HashData(bytes)), Encoder.Space), Ct);
        if (activate)
        {
            await store.ActivateModelAsync("v1", Ct);
        }

        return id;
    }

    /// <summary>
    /// Uploads <paramref name="count"/> copies of the five photos, registers them in dataset "photos"
    /// tagged person and unicorn, queued, and sends them as ONE message to <paramref name="queue"/>.
    /// </summary>
    public static async Task<IReadOnlyList<long>> SeedOneMessageAsync(ILabelStore store, IBlobStore blobs, IWorkQueue queue, int count)
    {
        var photos = Photos.Select(Photo).ToArray();
        var names = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var name = $"inbox/photos/person/{i:D4} {Photos[i % Photos.Length]}";
            using var content = new MemoryStream(photos[i % photos.Length]);
            await blobs.WriteAsync(name, content, overwrite: false, Ct);
            names.Add(name);
        }

        var dataset = await store.EnsureDatasetAsync("photos", Ct);
        var images = await store.RegisterImagesAsync(dataset, names.Select(n => new NewImage(n, "h-" + n)).ToList(), Ct);
        var ids = images.Select(i => i.ImageId).ToList();
        await store.AddTagsAsync(ids.SelectMany(id => new[] { new ImageTag(id, "person"), new ImageTag(id, "unicorn") }).ToList(), Ct);
        await store.SetStatusAsync(ids, ImageStatus.Queued, null, Ct);
        await queue.CreateIfNotExistsAsync(Ct);
        await queue.SendAsync(LabelMessage.Create(ids).ToJson(), null, Ct);
        return ids;
    }

    public static async Task<DatasetProgress> ProgressAsync(ILabelStore store) =>
        (await store.GetProgressAsync("photos", Ct)).SingleOrDefault() ?? new DatasetProgress("photos", 0, 0, 0, 0, 0, 0);

    public static async Task<List<BoxRow>> BoxesOfAsync(ILabelStore store, long imageId) =>
        [.. (await store.QueryBoxesAsync(new BoxQuery { ImageId = imageId, Limit = 1000 }, Ct)).Boxes];

    /// <summary>Asserts nothing lost or duplicated: all labelled by v1, none failed, exactly one labelling's boxes per image.</summary>
    public static async Task AssertAllLabelledOnceAsync(ILabelStore store, IReadOnlyList<long> ids, long modelId)
    {
        var progress = await ProgressAsync(store);
        Assert.Equal((ids.Count, 0L, 0L, ids.Count, 0L), (progress.Images, progress.Pending, progress.Queued, progress.Labelled, progress.Failed));
        Assert.All(await store.GetImagesAsync(ids, Ct), i => Assert.Equal((ImageStatus.Labelled, modelId), (i.Status, i.LabelledByModelId)));
        foreach (var id in ids)
        {
            var boxes = await BoxesOfAsync(store, id);
            Assert.True(boxes.Count == BoxesPerPersonUnicornImage, $"image {id} has {boxes.Count} boxes, not {BoxesPerPersonUnicornImage}: duplicated or lost");
            Assert.Equal(2, boxes.Count(b => b is { ClassName: "person", Source: BoxSource.Pseudo }));
            Assert.Single(boxes, b => b is { ClassName: "unicorn", Source: BoxSource.Weak });
            Assert.All(boxes, b => Assert.Equal("v1", b.ModelVersion));
        }

        Assert.Equal((long)BoxesPerPersonUnicornImage * ids.Count, progress.Boxes);
    }

    /// <summary>The two person boxes (proposals 0 and 2, mapped back through the letterbox) the model gives a photo tagged person.</summary>
    public static void AssertPersonBoxes(byte[] photo, IReadOnlyList<BoxRow> actual)
    {
        var decoded = ImageDecoder.Decode(photo, new ImageDecodeOptions { TargetLongSide = InputSize });
        Assert.True(decoded.Success, decoded.Message);
        var t = Letterbox.ComputeTransform(decoded.Image.OriginalWidth, decoded.Image.OriginalHeight, InputSize, InputSize);
        var persons = actual.Where(b => b.ClassName == "person").OrderByDescending(b => b.X2 - b.X1).ToList(); // proposal 0 is the larger
        Assert.Equal(2, persons.Count);
        foreach (var (p, box) in new[] { 0, 2 }.Zip(persons))
        {
            var (x1, y1) = t.ToOriginal(Boxes[p, 0], Boxes[p, 1]);
            var (x2, y2) = t.ToOriginal(Boxes[p, 2], Boxes[p, 3]);
            Assert.Equal((BoxSource.Pseudo, "v1"), (box.Source, box.ModelVersion));
            Assert.Equal(x1, box.X1, 0.01f);
            Assert.Equal(y1, box.Y1, 0.01f);
            Assert.Equal(x2, box.X2, 0.01f);
            Assert.Equal(y2, box.Y2, 0.01f);
        }
    }

    /// <summary>
    /// The no-model scenario both stacks run: a worker host started before any model is active takes nothing (the
    /// message is never received: <paramref name="dequeueCount"/> stays 0 over many rechecks), says why once in its log
    /// and on <c>/readyz</c> (Degraded), fails no image; once v1 is activated it labels everything, dead-letters nothing.
    /// </summary>
    public static async Task AssertWaitsForAModelAsync(
        WorkerProcess worker, ILabelStore store, IWorkQueue queue, IReadOnlyList<long> ids, Func<Task<long>> dequeueCount, Func<Task<long>> poisonCount)
    {
        await worker.WaitReadyAsync();
        await Poll.UntilAsync(async () => worker.Output().Contains("Labelling waits", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), () => "the worker to say it waits\n" + worker.Output());
        var ready = await worker.GetAsync("/readyz");
        Assert.Equal((System.Net.HttpStatusCode.OK, "Degraded"), (ready?.Status, ready?.Body));
        Assert.Contains("No model is active", worker.Output(), StringComparison.Ordinal);

        // Ten rechecks' worth (200 ms apart): the message is never taken, no image changes.
        var until = DateTime.UtcNow.AddSeconds(2);
        while (DateTime.UtcNow < until)
        {
            Assert.Equal(0, await dequeueCount());
            Assert.Equal(ids.Count, (await ProgressAsync(store)).Queued);
            await Task.Delay(100, Ct);
        }

        await store.ActivateModelAsync("v1", Ct);
        await Poll.UntilAsync(async () => (await ProgressAsync(store)).Labelled == ids.Count,
            TimeSpan.FromSeconds(60), () => $"every image labelled after the activation ({ProgressAsync(store).Result})\n{worker.Output()}");
        Assert.Equal(0, (await ProgressAsync(store)).Failed);
        Assert.Equal(0, await poisonCount());
        var output = worker.Output();
        Assert.Equal(1, Occurrences(output, "Labelling waits"));
        Assert.Equal(1, Occurrences(output, "Labelling resumes with model v1"));
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal); // no stack trace for an expected state
        Assert.Equal((System.Net.HttpStatusCode.OK, "Healthy"), ((await worker.GetAsync("/readyz"))?.Status, (await worker.GetAsync("/readyz"))?.Body));
    }

    private static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
