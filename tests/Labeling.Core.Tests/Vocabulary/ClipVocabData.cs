using Labeling.Vocabulary;

namespace Labeling.Core.Tests.Vocabulary;

/// <summary>The real CLIP ViT-B/32 vocabularies in <c>../shared/data/clip-vocab</c> next to the repository (see that folder's README).</summary>
internal static class ClipVocabData
{
    public const string Space = "clip-vit-b32";

    private static readonly Lazy<EmbeddingTable> CocoTable = new(() => EmbeddingTable.FromNpy(File("coco_clip_a+cname.npy"), NameLists.ReadLines(File("coco_names.txt")), Space));
    private static readonly Lazy<EmbeddingTable> LvisTable = new(() => EmbeddingTable.FromNpy(File("lvis_v1_clip_a+cname.npy"), NameLists.ReadLvisCategoryNames(File("lvis_v1_train_cat_info.json")), Space));
    private static readonly Lazy<EmbeddingTable> O365Table = new(() => EmbeddingTable.FromNpy(File("o365_clip_a+cnamefix.npy"), NameLists.ReadObjects365Names(File("Objects365_names_fix.csv")), Space));

    public static EmbeddingTable Coco => CocoTable.Value;

    public static EmbeddingTable Lvis => LvisTable.Value;

    public static EmbeddingTable Objects365 => O365Table.Value;

    /// <summary>Walks up from the test binaries to the folder holding Labeling.sln, then to <c>../shared/data/clip-vocab</c>.</summary>
    public static string Folder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "Labeling.sln")))
            {
                dir = dir.Parent;
            }

            Assert.True(dir is not null, $"No folder holding Labeling.sln above {AppContext.BaseDirectory}.");
            var folder = Path.GetFullPath(Path.Combine(dir!.FullName, "..", "shared", "data", "clip-vocab"));
            Assert.True(Directory.Exists(folder), $"The CLIP vocabulary data is missing: expected it at {folder}.");
            return folder;
        }
    }

    public static string File(string name)
    {
        var path = Path.Combine(Folder, name);
        Assert.True(System.IO.File.Exists(path), $"The CLIP vocabulary file is missing: {path}.");
        return path;
    }
}
