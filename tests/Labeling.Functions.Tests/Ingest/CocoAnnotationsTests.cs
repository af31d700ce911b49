using System.Text;
using Labeling.Blobs;
using Labeling.Functions.Ingest;

namespace Labeling.Functions.Tests.Ingest;

/// <summary>The streaming COCO reader: memory follows what it keeps, not the file's size.</summary>
public sealed class CocoAnnotationsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A64MiBFileOfValuesIngestDoesNotUse_IsReadWithAFewMiBAllocated()
    {
        // One image, one annotation whose segmentation polygon is 64 MiB of numbers: all of it stepped over.
        const long size = 64L * 1024 * 1024;
        using var stream = new GeneratedJson(
            """{"images": [{"id": 1, "file_name": "1.jpg"}], "categories": [{"id": 1, "name": "x"}], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": [[0"""u8.ToArray(),
            ",12345"u8.ToArray(),
            size,
            "]]}]}"u8.ToArray());

        // The generated stream completes every read at once, so the whole parse runs on this thread.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var coco = await CocoAnnotations.ReadAsync(stream, Ct);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Current.TestOutputHelper?.WriteLine($"{allocated:N0} bytes allocated to read {stream.Position:N0} bytes");
        Assert.True(stream.Position >= size - 16, "the whole file was read");
        var annotation = Assert.Single(coco.Annotations);
        Assert.Equal((1f, 2f, 3f, 4f), (annotation.X, annotation.Y, annotation.Width, annotation.Height));
        Assert.Empty(coco.Errors);
        Assert.True(allocated < 8L * 1024 * 1024, $"{allocated:N0} bytes allocated to read a {size:N0}-byte file");
    }

    [Fact]
    public async Task AnEndlessFile_ThroughTheLengthLimit_StopsOneBytePastIt()
    {
        const int limit = 1024 * 1024;
        using var endless = new GeneratedJson("""{"images": [], "info": [0"""u8.ToArray(), ",0"u8.ToArray(), long.MaxValue / 2, "]}"u8.ToArray());
        await using var limited = new LengthLimitedStream(endless, limit, "inbox/x/annotations.json");

        var e = await Assert.ThrowsAsync<BlobTooLargeException>(() => CocoAnnotations.ReadAsync(limited, Ct));

        Assert.Equal(limit + 1, endless.Position);
        Assert.Contains("1048576-byte limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStringLongerThanTheTokenLimit_RefusesTheFileWithItsLine()
    {
        var json = "{\n\"images\": [{\"id\": 1, \"file_name\": \"" + new string('a', CocoAnnotations.MaxTokenBytes + 10) + "\"}]}";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));

        var e = await Assert.ThrowsAsync<FormatException>(() => CocoAnnotations.ReadAsync(stream, Ct));

        Assert.Equal($"line 2: one JSON value is longer than {CocoAnnotations.MaxTokenBytes} bytes", e.Message);
    }

    /// <summary>header, then <c>unit</c> repeated (about <c>approximateSize</c> bytes in all), then footer; produced on demand, every read synchronous.</summary>
    private sealed class GeneratedJson(byte[] header, byte[] unit, long approximateSize, byte[] footer) : Stream
    {
        private readonly long _size = header.Length + (approximateSize / unit.Length * unit.Length);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var written = 0;
            while (written < buffer.Length)
            {
                byte b;
                if (_position < header.Length)
                {
                    b = header[_position];
                }
                else if (_position < _size)
                {
                    b = unit[(_position - header.Length) % unit.Length];
                }
                else if (_position < _size + footer.Length)
                {
                    b = footer[_position - _size];
                }
                else
                {
                    break;
                }

                buffer[written++] = b;
                _position++;
            }

            return written;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
