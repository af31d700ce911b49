using System.Net;
using System.Text.RegularExpressions;

namespace Labeling.Server.Tests;

/// <summary>
/// Posts a dashboard command as the dashboard's script does: a page first (its antiforgery cookie stays in the
/// client's cookie container), then a POST with the header and token that the page's meta tags name.
/// </summary>
internal static partial class DashboardCommand
{
    public static async Task<HttpStatusCode> PostAsync(HttpClient http, string path, HttpContent? content = null, string page = "/hangfire/models") =>
        (await SendAsync(http, path, content, page)).Status;

    /// <summary>
    /// As <see cref="PostAsync"/>, with <paramref name="headers"/> added to the POST only (a forged Host, Origin or
    /// Sec-Fetch-Site on a command whose token came from a page the client loaded): status and body.
    /// </summary>
    public static async Task<(HttpStatusCode Status, string Body)> SendAsync(
        HttpClient http, string path, HttpContent? content = null, string page = "/hangfire/models", Action<System.Net.Http.Headers.HttpRequestHeaders>? headers = null)
    {
        var html = await http.GetStringAsync(page, TestContext.Current.CancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content ?? new StringContent("") };
        var header = HeaderRegex().Match(html);
        var token = TokenRegex().Match(html);
        Assert.True(header.Success && token.Success, "The dashboard page carries no antiforgery token.");
        request.Headers.Add(WebUtility.HtmlDecode(header.Groups[1].Value), WebUtility.HtmlDecode(token.Groups[1].Value));
        headers?.Invoke(request.Headers);

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [GeneratedRegex("<meta name=\"csrf-header\" content=\"([^\"]*)\"", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderRegex();

    [GeneratedRegex("<meta name=\"csrf-token\" content=\"([^\"]*)\"", RegexOptions.CultureInvariant)]
    private static partial Regex TokenRegex();
}
