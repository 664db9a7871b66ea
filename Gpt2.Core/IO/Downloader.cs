using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Gpt2.IO;

/// <summary>
/// Downloads a file into place through <c>destination.part</c>: resumes a partial download (HTTP Range), retries
/// failures, and checks the result against what the server announced before it moves the file into place. The size
/// and SHA-256 come from a HEAD request that does not follow redirects, where the Hugging Face hub puts them
/// (<c>X-Linked-Size</c>, <c>X-Linked-Etag</c>) before sending the client on to its storage; otherwise from the
/// response's own length.
/// </summary>
internal static class Downloader
{
    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/>.</summary>
    /// <exception cref="DownloadException">Every attempt failed, or the file is not what the server announced.</exception>
    public static async Task DownloadAsync(string url, string destination, IProgress<ProgressReport>? progress, CancellationToken cancellationToken,
        int attempts = 4, TimeSpan? retryDelay = null)
    {
        string partial = destination + ".part";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var (size, sha256) = await ProbeAsync(url, cancellationToken).ConfigureAwait(false);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
                if (size is long longest && have > longest)
                {
                    File.Delete(partial); // longer than the file: not a prefix of it
                    have = 0;
                }

                if (size is not long announced || have < announced)
                {
                    await FetchAsync(http, url, partial, have, size, progress, cancellationToken).ConfigureAwait(false);
                }

                break;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // a host that cannot be resolved or reached on the first try is offline, not flaky: say so at once
                bool unreachable = attempt == 1 && e is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError };
                if (attempt >= attempts || unreachable)
                {
                    throw new DownloadException(url, e);
                }

                progress?.Report($"  download failed ({e.Message}); retrying ({attempt}/{attempts - 1})");
                await Task.Delay(retryDelay ?? TimeSpan.FromSeconds(2 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }

        long got = new FileInfo(partial).Length;
        if (size is long expected && got != expected)
        {
            File.Delete(partial);
            throw new DownloadException(url, new IOException($"received {got} bytes, but the server announced {expected}; the partial file was deleted"));
        }

        if (sha256 is not null)
        {
            string actual;
            using (var file = File.OpenRead(partial))
            {
                actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
            }

            if (actual != sha256)
            {
                File.Delete(partial);
                throw new DownloadException(url, new IOException($"SHA-256 {actual} differs from the announced {sha256}; the partial file was deleted"));
            }
        }

        File.Move(partial, destination, overwrite: true);
    }

    private static async Task FetchAsync(HttpClient http, string url, string partial, long have, long? size, IProgress<ProgressReport>? progress, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (have > 0 && response.StatusCode != HttpStatusCode.PartialContent)
        {
            have = 0; // the server ignored the range: start over
        }

        response.EnsureSuccessStatusCode();
        long? total = size ?? response.Content.Headers.ContentLength + have;
        var bar = new ProgressBar(progress, Path.GetFileName(partial)[..^".part".Length], total, have);
        var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (input.ConfigureAwait(false))
        {
            var output = new FileStream(partial, have > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write);
            await using (output.ConfigureAwait(false))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    bar.Advance(n);
                }

                output.Flush(flushToDisk: true);
            }
        }

        bar.Finish();
    }

    /// <summary>The announced size and SHA-256 (either may be null), from a HEAD request that does not follow redirects.</summary>
    private static async Task<(long? Size, string? Sha256)> ProbeAsync(string url, CancellationToken cancellationToken)
    {
        try
        {
            using var handler = new HttpClientHandler { AllowAutoRedirect = false };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(1) };
            using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url), cancellationToken).ConfigureAwait(false);
            string? Header(string name) => response.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault()?.Trim('"') : null;
            long? size = long.TryParse(Header("X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out long linked) ? linked
                : response.StatusCode == HttpStatusCode.OK ? response.Content.Headers.ContentLength : null;
            string? etag = Header("X-Linked-Etag");
            string? sha = etag is { Length: 64 } && etag.All(Uri.IsHexDigit) ? etag.ToLowerInvariant() : null;
            return (size, sha);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, null); // the GET reports what is wrong, with its retries
        }
    }

    /// <summary>A count per 1% (or per 8 MiB when the size is unknown) whose text is a bar, MiB done, rate and time left.</summary>
    private sealed class ProgressBar(IProgress<ProgressReport>? progress, string item, long? total, long first)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly long _step = total is long t && t > 0 ? Math.Max(t / 100, 1) : 8L << 20;
        private readonly long _start = first;
        private long _done = first;
        private long _reported = -1;

        public void Advance(int bytes)
        {
            _done += bytes;
            if (_reported < 0 || _done - _reported >= _step)
            {
                Report();
            }
        }

        public void Finish()
        {
            if (_reported != _done)
            {
                Report();
            }
        }

        private void Report()
        {
            _reported = _done;
            if (progress is null)
            {
                return;
            }

            double mib = _done / 1048576.0, rate = (_done - _start) / 1048576.0 / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
            if (total is long t && t > 0)
            {
                double fraction = Math.Min(1, (double)_done / t);
                int filled = (int)(fraction * 20);
                var left = TimeSpan.FromSeconds(rate > 0 ? (t - _done) / 1048576.0 / rate : 0);
                progress.Report(new ProgressReport(string.Create(CultureInfo.InvariantCulture,
                    $"  [{new string('#', filled)}{new string('.', 20 - filled)}] {fraction * 100,3:F0}%  {mib:F1}/{t / 1048576.0:F1} MiB  {rate:F1} MiB/s  ETA {(int)left.TotalHours}:{left:mm\\:ss}"),
                    item, _done, t, "bytes"));
            }
            else
            {
                progress.Report(new ProgressReport(string.Create(CultureInfo.InvariantCulture, $"  {mib:F1} MiB  {rate:F1} MiB/s"), item, _done, null, "bytes"));
            }
        }
    }
}
