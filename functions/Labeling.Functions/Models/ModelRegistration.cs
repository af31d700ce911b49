using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Labels;

namespace Labeling.Functions.Models;

/// <summary>A model file that is now in the registry.</summary>
/// <param name="Id">Its row id.</param>
/// <param name="Version">Its version.</param>
/// <param name="Contract">The detector contract its file meets.</param>
/// <param name="Info">What the file declares (input size, embedding space, …).</param>
/// <param name="BlobName">Where the file is: <c>models/&lt;version&gt;.onnx</c>.</param>
/// <param name="Sha256">The file's hex sha256, checked on the uploaded blob.</param>
/// <param name="Sidecars">Blob names of the training files uploaded beside it (weights, config), for warm starts.</param>
public sealed record RegisteredModel(long Id, string Version, string Contract, DetectorInfo Info, string BlobName, string Sha256, IReadOnlyList<string> Sidecars);

/// <summary>
/// Puts an ONNX model file into the registry, the one way every caller does it (<c>labeling models add</c>,
/// <c>labeling train --register</c>, the bootstrap demo): read it once (within <see cref="DetectorOptions.MaxModelBytes"/>),
/// and from those bytes check and load it (it must pass <see cref="Labeling.Onnx.UntrustedOnnxModel"/> and meet a
/// detector contract), hash it and upload it to <c>models/&lt;version&gt;.onnx</c>, so a file changed meanwhile is never
/// what gets registered; read the blob back and check the hash, and only then register (and optionally activate) it,
/// so a half-written upload never becomes a registered model. The trainer's files beside
/// the model (<c>NAME.weights</c>, <c>NAME.config.json</c>) go up too, as <c>models/&lt;version&gt;.weights</c> and
/// <c>.config.json</c>: the retrain job warm-starts from them.
/// </summary>
public static class ModelRegistration
{
    /// <summary>The trainer's files uploaded beside a model when they sit beside its file.</summary>
    public static IReadOnlyList<string> SidecarExtensions { get; } = [".weights", ".config.json"];

    /// <summary>True for a version a blob name and the CLI accept: letters, digits, '.', '-' and '_'.</summary>
    public static bool IsValidVersion(string version) =>
        version.Length is > 0 and <= 128 && version.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    /// <exception cref="InvalidOperationException">The file is missing or not a detector, the version is taken or malformed, or the upload does not read back intact.</exception>
    public static Task<RegisteredModel> RegisterFileAsync(
        ILabelStore store, IBlobStore blobs, string path, string version, bool activate, CancellationToken cancellationToken) =>
        RegisterFileAsync(store, blobs, path, version, activate, parentId: null, cancellationToken);

    /// <summary>As above, recording <paramref name="parentId"/> (the model it was trained from) in the registry.</summary>
    public static Task<RegisteredModel> RegisterFileAsync(
        ILabelStore store, IBlobStore blobs, string path, string version, bool activate, long? parentId, CancellationToken cancellationToken) =>
        RegisterFileAsync(store, blobs, path, version, activate, parentId, DetectorOptions.DefaultMaxModelBytes, cancellationToken);

    /// <summary>As above, refusing a file over <paramref name="maxModelBytes"/> (<see cref="DetectorOptions.MaxModelBytes"/>).</summary>
    public static async Task<RegisteredModel> RegisterFileAsync(
        ILabelStore store, IBlobStore blobs, string path, string version, bool activate, long? parentId, long maxModelBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(version);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"Model file '{Path.GetFullPath(path)}' does not exist.");
        }

        if (!IsValidVersion(version))
        {
            throw new InvalidOperationException($"Version '{version}' must be 1–128 letters, digits, '.', '-' or '_'.");
        }

        // One read: the bytes checked are the bytes hashed and uploaded.
        byte[] bytes;
        DetectorInfo info;
        try
        {
            bytes = await ModelFileReader.ReadAsync(path, maxModelBytes, cancellationToken).ConfigureAwait(false);
            using var detector = OnnxDetector.Load(bytes, Path.GetFileName(path), new DetectorOptions { IntraOpThreads = 1, MaxModelBytes = maxModelBytes });
            info = detector.Info;
        }
        catch (Labeling.Onnx.OnnxModelRefusedException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        catch (DetectorContractException e) when (e.InnerException is Labeling.Onnx.OnnxModelRefusedException)
        {
            throw new InvalidOperationException(e.Message, e); // names the file and the reason already
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"'{Path.GetFileName(path)}' is not a detector model: {e.Message}", e);
        }

        var contract = info.Contract == DetectorContract.RegionEmbedding ? DetectorInfo.RegionEmbeddingContract : DetectorInfo.FixedVocabularyContract;
        if (await store.GetModelAsync(version, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new InvalidOperationException($"Model version '{version}' is registered already.");
        }

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await blobs.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        var blobName = $"models/{version}.onnx";
        using (var upload = new MemoryStream(bytes, writable: false))
        {
            await blobs.WriteAsync(blobName, upload, overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        string stored;
        var readBack = await blobs.OpenReadAsync(blobName, cancellationToken).ConfigureAwait(false);
        await using (readBack.ConfigureAwait(false))
        {
            stored = Convert.ToHexStringLower(await SHA256.HashDataAsync(readBack, cancellationToken).ConfigureAwait(false));
        }

        if (stored != sha256)
        {
            throw new InvalidOperationException($"The uploaded {blobName} reads back with sha256 {stored}, not the file's {sha256}: not registered.");
        }

        var sidecars = new List<string>();
        foreach (var extension in SidecarExtensions)
        {
            var local = Path.ChangeExtension(path, extension);
            if (File.Exists(local))
            {
                var sidecar = $"models/{version}{extension}";
                var content = File.OpenRead(local);
                await using (content.ConfigureAwait(false))
                {
                    await blobs.WriteAsync(sidecar, content, overwrite: true, cancellationToken).ConfigureAwait(false);
                }

                sidecars.Add(sidecar);
            }
        }

        var id = await store.RegisterModelAsync(new NewModel(version, contract, blobName, sha256, info.EmbeddingSpace, parentId), cancellationToken).ConfigureAwait(false);
        if (activate)
        {
            await store.ActivateModelAsync(version, cancellationToken).ConfigureAwait(false);
        }

        return new RegisteredModel(id, version, contract, info, blobName, sha256, sidecars);
    }
}
