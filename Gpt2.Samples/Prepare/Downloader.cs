using System.Net;

namespace Gpt2.Samples.Prepare;

/// <summary>Downloads a file with a progress line, resuming a partial download (HTTP Range) and retrying failures.</summary>
internal static class Downloader
{
    public static void Download(string url, string destination, TextWriter progress, int attempts = 4)
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

                using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead);
                if (have > 0 && response.StatusCode != HttpStatusCode.PartialContent)
                {
                    have = 0; // the server ignored the range: start over
                }

                response.EnsureSuccessStatusCode();
                long? total = response.Content.Headers.ContentLength + have;
                using (var input = response.Content.ReadAsStream())
                using (var output = new FileStream(partial, have > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write))
                {
                    var buffer = new byte[1 << 16];
                    long done = have, lastReport = 0;
                    int n;
                    while ((n = input.Read(buffer)) > 0)
                    {
                        output.Write(buffer, 0, n);
                        done += n;
                        if (done - lastReport >= 1 << 20 || (total is long all && done == all))
                        {
                            lastReport = done;
                            progress.WriteLine(total is long t && t > 0 ? $"  {done / 1048576.0:F1} / {t / 1048576.0:F1} MiB" : $"  {done / 1048576.0:F1} MiB");
                        }
                    }

                    output.Flush(flushToDisk: true);
                }

                File.Move(partial, destination, overwrite: true);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && attempt < attempts)
            {
                progress.WriteLine($"  download failed ({e.Message}); retrying ({attempt}/{attempts - 1})");
                Thread.Sleep(TimeSpan.FromSeconds(2 * attempt));
            }
        }
    }
}
