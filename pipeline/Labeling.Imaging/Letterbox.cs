using System.Buffers;

namespace Labeling.Imaging;

/// <summary>Letterbox preprocessing: aspect-preserving bilinear resize, centred on a padded canvas, normalised CHW float32.</summary>
public static class Letterbox
{
    /// <summary>
    /// The transform <see cref="Fill"/> uses for an image of the given full-resolution size:
    /// scale = min(inputWidth / originalWidth, inputHeight / originalHeight), the resized image
    /// (rounded to whole pixels) centred with whole-pixel padding (the extra pixel, if any, right/bottom).
    /// </summary>
    public static LetterboxTransform ComputeTransform(int originalWidth, int originalHeight, int inputWidth, int inputHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(originalWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(originalHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputHeight);
        float scale = Math.Min(inputWidth / (float)originalWidth, inputHeight / (float)originalHeight);
        var (contentWidth, contentHeight) = ContentSize(originalWidth, originalHeight, inputWidth, inputHeight, scale);
        return new LetterboxTransform(scale, (inputWidth - contentWidth) / 2, (inputHeight - contentHeight) / 2, originalWidth, originalHeight);
    }

    /// <summary>
    /// Resizes <paramref name="image"/> (keeping aspect ratio, bilinear, pixel centres aligned like OpenCV's
    /// INTER_LINEAR) into an <paramref name="inputWidth"/> × <paramref name="inputHeight"/> canvas, centred,
    /// padded with <paramref name="padValue"/>, and writes CHW float32 RGB planes normalised as
    /// ((value / 255) − mean[c]) / std[c] into the first 3·inputHeight·inputWidth floats of
    /// <paramref name="destination"/>. Returns the transform from input pixels to ORIGINAL image pixels:
    /// a reduced-scale decode yields the same transform as a full one.
    /// </summary>
    /// <exception cref="ArgumentException">Mean/std are not 3 values, a std is zero, or the destination is too short.</exception>
    public static LetterboxTransform Fill(DecodedImage image, int inputWidth, int inputHeight, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, Span<float> destination, byte padValue = 114)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (mean.Length != 3 || std.Length != 3)
        {
            throw new ArgumentException("mean and std must each have 3 values (R, G, B).", nameof(mean));
        }

        if (std[0] == 0 || std[1] == 0 || std[2] == 0)
        {
            throw new ArgumentException("std values must be non-zero.", nameof(std));
        }

        var transform = ComputeTransform(image.OriginalWidth, image.OriginalHeight, inputWidth, inputHeight);
        int plane = checked(inputWidth * inputHeight);
        if (destination.Length < checked(3 * plane))
        {
            throw new ArgumentException($"destination needs {3 * plane} floats, has {destination.Length}.", nameof(destination));
        }

        // (value / 255 - mean) / std == value * gain + bias
        Span<float> gain = [1f / (255f * std[0]), 1f / (255f * std[1]), 1f / (255f * std[2])];
        Span<float> bias = [-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]];
        var (contentWidth, contentHeight) = ContentSize(image.OriginalWidth, image.OriginalHeight, inputWidth, inputHeight, transform.Scale);
        int padX = (int)transform.PadX, padY = (int)transform.PadY;

        for (int c = 0; c < 3; c++)
        {
            destination.Slice(c * plane, plane).Fill((padValue * gain[c]) + bias[c]);
        }

        // Input pixel centre → original coordinate → decoded-image coordinate (the decode may be reduced).
        float sx = image.Width / (float)image.OriginalWidth / transform.Scale;
        float sy = image.Height / (float)image.OriginalHeight / transform.Scale;
        var columns = ArrayPool<int>.Shared.Rent(contentWidth * 2);
        var weights = ArrayPool<float>.Shared.Rent(contentWidth);
        try
        {
            for (int x = 0; x < contentWidth; x++)
            {
                Sample((x + 0.5f) * sx - 0.5f, image.Width, out int x0, out int x1, out float wx);
                columns[2 * x] = x0 * 3;
                columns[(2 * x) + 1] = x1 * 3;
                weights[x] = wx;
            }

            var pixels = image.Pixels.Span;
            int stride = image.Width * 3;
            for (int y = 0; y < contentHeight; y++)
            {
                Sample((y + 0.5f) * sy - 0.5f, image.Height, out int y0, out int y1, out float wy);
                var row0 = pixels.Slice(y0 * stride, stride);
                var row1 = pixels.Slice(y1 * stride, stride);
                int offset = ((y + padY) * inputWidth) + padX;
                var r = destination.Slice(offset, contentWidth);
                var g = destination.Slice(plane + offset, contentWidth);
                var b = destination.Slice((2 * plane) + offset, contentWidth);
                for (int x = 0; x < contentWidth; x++)
                {
                    int i0 = columns[2 * x], i1 = columns[(2 * x) + 1];
                    float wx = weights[x];
                    r[x] = (Lerp(row0[i0], row0[i1], row1[i0], row1[i1], wx, wy) * gain[0]) + bias[0];
                    g[x] = (Lerp(row0[i0 + 1], row0[i1 + 1], row1[i0 + 1], row1[i1 + 1], wx, wy) * gain[1]) + bias[1];
                    b[x] = (Lerp(row0[i0 + 2], row0[i1 + 2], row1[i0 + 2], row1[i1 + 2], wx, wy) * gain[2]) + bias[2];
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(columns);
            ArrayPool<float>.Shared.Return(weights);
        }

        return transform;
    }

    private static (int Width, int Height) ContentSize(int originalWidth, int originalHeight, int inputWidth, int inputHeight, float scale) =>
        (Math.Clamp((int)MathF.Round(originalWidth * scale), 1, inputWidth), Math.Clamp((int)MathF.Round(originalHeight * scale), 1, inputHeight));

    private static void Sample(float position, int size, out int i0, out int i1, out float weight)
    {
        position = Math.Clamp(position, 0f, size - 1);
        i0 = (int)position;
        i1 = Math.Min(i0 + 1, size - 1);
        weight = position - i0;
    }

    private static float Lerp(byte topLeft, byte topRight, byte bottomLeft, byte bottomRight, float wx, float wy)
    {
        float top = topLeft + ((topRight - topLeft) * wx);
        float bottom = bottomLeft + ((bottomRight - bottomLeft) * wx);
        return top + ((bottom - top) * wy);
    }
}
