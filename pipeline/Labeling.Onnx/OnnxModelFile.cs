using Google.Protobuf;
using Labeling.Onnx.Proto;

namespace Labeling.Onnx;

/// <summary>Reads and writes <c>.onnx</c> files (a serialised ModelProto).</summary>
public static class OnnxModelFile
{
    /// <summary>Writes the model to a temporary file beside <paramref name="path"/>, then renames it over the target,
    /// so a reader never sees a half-written model.</summary>
    public static void Save(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                model.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static byte[] ToBytes(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.ToByteArray();
    }

    public static ModelProto FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return ModelProto.Parser.ParseFrom(bytes);
    }

    public static ModelProto Load(string path)
    {
        using var stream = File.OpenRead(path);
        return ModelProto.Parser.ParseFrom(stream);
    }
}
