using System.Globalization;
using System.Text;
using Gpt2.IO;

namespace Gpt2.Samples.Train;

/// <summary>
/// The loss curves of a run (training and validation) as an SVG, written atomically. Hand-written: a few lines of
/// markup replace a plotting library whose native graphics runtimes made the tool package 80 MB.
/// </summary>
internal sealed class LossPlot
{
    private const int Width = 900, Height = 500, Left = 70, Right = 20, Top = 40, Bottom = 50;

    private readonly List<(double Step, double Loss)> _train = [], _val = [];

    public void AddTrain(int step, float loss) => _train.Add((step, loss));

    public void AddValidation(int step, float loss) => _val.Add((step, loss));

    public bool IsEmpty => _train.Count == 0 && _val.Count == 0;

    public void Save(string path)
    {
        var all = _train.Concat(_val).Where(p => double.IsFinite(p.Loss)).ToList();
        double x0 = all.Min(p => p.Step), x1 = Math.Max(all.Max(p => p.Step), x0 + 1);
        double y0 = all.Min(p => p.Loss), y1 = all.Max(p => p.Loss);
        (y0, y1) = y1 - y0 < 1e-6 ? (y0 - 0.5, y1 + 0.5) : (y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0));
        double X(double step) => Left + (step - x0) / (x1 - x0) * (Width - Left - Right);
        double Y(double loss) => Top + (y1 - loss) / (y1 - y0) * (Height - Top - Bottom);
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n<text x=\"{Width / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">GPT-2 loss</text>\n");
        foreach (double t in Ticks(y0, y1))
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{F(Y(t))}\" y2=\"{F(Y(t))}\" stroke=\"#e5e5e5\"/><text x=\"{Left - 6}\" y=\"{F(Y(t) + 4)}\" text-anchor=\"end\">{t.ToString("G4", CultureInfo.InvariantCulture)}</text>\n");
        }

        foreach (double t in Ticks(x0, x1))
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(t))}\" x2=\"{F(X(t))}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"#e5e5e5\"/><text x=\"{F(X(t))}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{t.ToString("G6", CultureInfo.InvariantCulture)}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"black\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(Width + Left - Right) / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\">step</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(18 {(Height + Top - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">cross-entropy (nats)</text>\n");
        void Series(List<(double Step, double Loss)> points, string color, string name, int legendRow, bool markers)
        {
            var finite = points.Where(p => double.IsFinite(p.Loss)).ToList();
            if (finite.Count == 0)
            {
                return;
            }

            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{(markers ? 2 : 1.2)}\" points=\"");
            svg.AppendJoin(' ', finite.Select(p => $"{F(X(p.Step))},{F(Y(p.Loss))}"));
            svg.Append("\"/>\n");
            if (markers)
            {
                foreach (var p in finite)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(p.Step))}\" cy=\"{F(Y(p.Loss))}\" r=\"3\" fill=\"{color}\"/>");
                }

                svg.Append('\n');
            }

            int ly = Top + 16 + legendRow * 18;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right - 110}\" x2=\"{Width - Right - 90}\" y1=\"{ly - 4}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{Width - Right - 84}\" y=\"{ly}\">{name}</text>\n");
        }

        Series(_train, "#1f77b4", "train", 0, markers: false);
        Series(_val, "#ff7f0e", "validation", _train.Count > 0 ? 1 : 0, markers: true);
        svg.Append("</svg>\n");
        byte[] bytes = Encoding.UTF8.GetBytes(svg.ToString());
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>About six round tick values (1, 2 or 5 times a power of ten apart) covering [low, high].</summary>
    private static IEnumerable<double> Ticks(double low, double high)
    {
        double raw = (high - low) / 6, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        for (double t = Math.Ceiling(low / step) * step; t <= high + step * 1e-9; t += step)
        {
            yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
        }
    }
}
