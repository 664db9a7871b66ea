using System.Net;

namespace Gpt2.IO;

/// <summary>Downloads a file into place, resuming a partial download (HTTP Range) and retrying failures.</summary>
internal static class Downloader
{
    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/> through <c>destination.part</c>.</summary>
    /// <exception cref="DownloadException">Every attempt failed.</exception>
    public static async Task DownloadAsync(string url, string destination, IProgress<string>? progress, CancellationToken cancellation, int attempts = 4)
    {
        string partial = destination + ".part";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                if (have > 0)
                {
                    request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(have, null);
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
                if (have > 0 && response.StatusCode != HttpStatusCode.PartialContent)
                {
                    have = 0; // the server ignored the range: start over
                }

                response.EnsureSuccessStatusCode();
                long? total = response.Content.Headers.ContentLength + have;
                var input = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
                await using (input.ConfigureAwait(false))
                {
                    var output = new FileStream(partial, have > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write);
                    await using (output.ConfigureAwait(false))
                    {
                        var buffer = new byte[1 << 16];
                        long done = have, lastReport = 0;
                        int n;
                        while ((n = await input.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0)
                        {
                            await output.WriteAsync(buffer.AsMemory(0, n), cancellation).ConfigureAwait(false);
                            done += n;
                            if (done - lastReport >= 1 << 20 || (total is long all && done == all))
                            {
                                lastReport = done;
                                progress?.Report(total is long t && t > 0 ? $"  {done / 1048576.0:F1} / {t / 1048576.0:F1} MiB" : $"  {done / 1048576.0:F1} MiB");
                            }
                        }

                        output.Flush(flushToDisk: true);
                    }
                }

                File.Move(partial, destination, overwrite: true);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellation.IsCancellationRequested)
            {
                if (attempt >= attempts)
                {
                    throw new DownloadException(url, e);
                }

                progress?.Report($"  download failed ({e.Message}); retrying ({attempt}/{attempts - 1})");
                await Task.Delay(TimeSpan.FromSeconds(2 * attempt), cancellation).ConfigureAwait(false);
            }
        }
    }
}
