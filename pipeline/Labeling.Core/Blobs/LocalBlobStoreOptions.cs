namespace Labeling.Blobs;

/// <summary>Options of the local-folder blob store (the embedded default).</summary>
public sealed class LocalBlobStoreOptions
{
    /// <summary>Folder that holds one sub-folder per container. Default <c>./data/blobs</c>.</summary>
    public string RootPath { get; set; } = Path.Combine("data", "blobs");

    /// <summary>Container (sub-folder) name. Default <c>labeling</c>.</summary>
    public string Container { get; set; } = "labeling";

    /// <summary>Flush each written blob to disk before it becomes visible (durable, slower). Default true.</summary>
    public bool FlushToDisk { get; set; } = true;
}
