namespace Labeling.Detection.Tests;

/// <summary>A folder of its own per test class, and the shared real photographs.</summary>
public sealed class TestFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "labeling-det-" + Guid.NewGuid().ToString("N")[..12]);

    public TestFolder() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>../shared/data/images beside the repository (fails with the path when missing).</summary>
    public static string SharedImage(string name) => Labeling.Testing.RepoPaths.SharedData("images", name);
}
