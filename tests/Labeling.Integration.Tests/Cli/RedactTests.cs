using Labeling.Cli;

namespace Labeling.Integration.Tests.Cli;

/// <summary><see cref="CliSettings.Redact"/>: what the CLI prints after <c>error:</c> carries no password, key, token or signature.</summary>
public sealed class RedactTests
{
    [Theory]
    // secret in the message, what must not be left of it, what must stay
    [InlineData("cannot connect: Host=db;Username=ana;Password='alpha beta';Database=labels", "beta", "host=db")]
    [InlineData("cannot connect: Host=db;Username=ana;Password=\"x;y\";Database=labels", "x;y", "database=labels")]
    [InlineData("cannot connect: Host=db;Password=\"x;y\"", ";y", "host=db")]
    [InlineData("Server=tcp:s;Pwd='it''s;secret';Encrypt=true", "secret", "encrypt=true")]
    [InlineData("Server=tcp:s;PWD=\"say \"\"hi\"\";now\"", "now", "server=tcp:s")]
    [InlineData("pAsSwOrD = 'alpha beta' was refused", "beta", "was refused")]
    [InlineData("PASSWORD=\"semi;colon\" was refused", "colon", "was refused")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5=;EndpointSuffix=core.windows.net", "c2VjcmV0a2V5", "accountname=acct")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey='c2Vj cmV0';BlobEndpoint=http://127.0.0.1:10000/acct", "cmV0", "blobendpoint=http://127.0.0.1:10000/acct")]
    [InlineData("BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2024-01-01&ss=b&sig=AbC%2Bd%3D", "AbC%2B", "blobendpoint=https://acct.blob.core.windows.net")]
    [InlineData("GET https://acct.blob.core.windows.net/c?sv=2024&sig=AbC%2Bd%3D failed", "AbC", "failed")]
    [InlineData("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abcDEF123=", "abcDEF123", "endpoint=sb://ns.servicebus.windows.net/")]
    [InlineData("Host=db;Password=alpha beta gamma;Port=5432", "gamma", "port=5432")]
    [InlineData("oauth token=eyJhbGciOi.payload rejected", "eyJhbGciOi", "rejected")]
    [InlineData("ApiKey=\"k e y\" and client_secret='s;s'", "k e y", "and")]
    [InlineData("ApiKey=\"k e y\" and client_secret='s;s'", "s;s", "and")]
    [InlineData("password=hunter2 is wrong", "hunter2", "is wrong")]
    public void Redact_LeavesNoSecret_AndKeepsTheRest(string message, string secret, string kept)
    {
        var redacted = CliSettings.Redact(message);

        Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        Assert.Contains("***", redacted, StringComparison.Ordinal);
        Assert.Contains(kept, redacted, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("password=hunter2 is wrong", "password=*** is wrong")]
    [InlineData("Failed: Host=db;Username=ana;Password='a b';Database=labels (timeout)", "Failed: host=db;username=ana;password=***;database=labels (timeout)")]
    [InlineData("nothing secret here: Host=db;Port=5432", "nothing secret here: Host=db;Port=5432")]
    [InlineData("no key value pairs at all", "no key value pairs at all")]
    public void Redact_ChangesOnlyTheSecrets(string message, string expected) =>
        Assert.Equal(expected, CliSettings.Redact(message));
}
