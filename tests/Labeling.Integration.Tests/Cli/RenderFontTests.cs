using Labeling.Cli;

namespace Labeling.Integration.Tests.Cli;

public sealed class RenderFontTests
{
    [Fact]
    public void LabelTypeface_HasGlyphs_SoRenderedLabelsAreNotBlank()
    {
        using var typeface = LabelingCli.LabelTypeface();

        Assert.True(typeface.GlyphCount > 0, "no font with glyphs: run infra/local/install.sh (installs fonts-dejavu-core)");
        using var font = new SkiaSharp.SKFont(typeface, 12);
        Assert.NotEqual(0, font.GetGlyph('A'));
        Assert.True(font.MeasureText("person 0.91 pseudo") > 0);
    }
}
