using Microsoft.Extensions.Configuration;

namespace Labeling.Bootstrap.Tests;

/// <summary>The <c>Retraining</c> section binds onto the options the host's job uses, nested gate included; bad values are named.</summary>
public sealed class RetrainingOptionsTests
{
    [Fact]
    public void Section_BindsEveryKind_OfSetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Retraining:Steps"] = "250",
            ["Retraining:LearningRate"] = "0.0005",
            ["Retraining:Datasets:0"] = "pets",
            ["Retraining:Datasets:1"] = "street",
            ["Retraining:Gate:APTolerance"] = "0.05",
            ["Retraining:VersionPrefix"] = "nightly",
            ["Retraining:RelabelAfterPromotion"] = "false",
        }).Build();

        var options = configuration.GetSection(RetrainingOptions.Section).Get<RetrainingOptions>()!;

        Assert.Equal((250, 0.0005f, "nightly", false), (options.Steps, options.LearningRate, options.VersionPrefix, options.RelabelAfterPromotion));
        Assert.Equal(["pets", "street"], options.Datasets);
        Assert.Equal((0.05, 0.01), (options.Gate.APTolerance, options.Gate.APNovelTolerance));
        options.Validate();
    }

    [Theory]
    [InlineData("Steps", "0")]
    [InlineData("VersionPrefix", "a b")]
    [InlineData("Preset", "huge")]
    [InlineData("Gate:APNovelTolerance", "2")]
    public void BadValue_IsRefused(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"Retraining:{key}"] = value }).Build();
        var options = configuration.GetSection(RetrainingOptions.Section).Get<RetrainingOptions>()!;

        Assert.ThrowsAny<ArgumentException>(options.Validate);
    }
}
