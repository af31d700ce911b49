namespace Labeling.Testing;

/// <summary>Paths of the repository and of <c>../shared/data</c> beside it, found from the test binaries.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding Labeling.sln, walking up from the running binaries.</summary>
    public static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Labeling.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName
            ?? throw new InvalidOperationException($"Could not find the repository root (the folder holding Labeling.sln) above '{AppContext.BaseDirectory}'.");
    }

    /// <summary>A file under <c>../shared/data</c>; throws with the path when it is missing.</summary>
    public static string SharedData(params string[] parts)
    {
        var path = Path.GetFullPath(Path.Combine([Root(), "..", "shared", "data", .. parts]));
        return File.Exists(path) || Directory.Exists(path) ? path : throw new FileNotFoundException($"Shared test data missing: {path}", path);
    }
}
