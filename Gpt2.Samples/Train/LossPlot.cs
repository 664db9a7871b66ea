using Gpt2.IO;
using ScottPlot;

namespace Gpt2.Samples.Train;

/// <summary>The loss curves of a run (training and validation) as a PNG, written atomically.</summary>
internal sealed class LossPlot
{
    private readonly List<double> _trainSteps = [], _train = [], _valSteps = [], _val = [];

    public void AddTrain(int step, float loss)
    {
        _trainSteps.Add(step);
        _train.Add(loss);
    }

    public void AddValidation(int step, float loss)
    {
        _valSteps.Add(step);
        _val.Add(loss);
    }

    public bool IsEmpty => _train.Count == 0 && _val.Count == 0;

    public void Save(string path)
    {
        var plot = new Plot();
        if (_train.Count > 0)
        {
            var train = plot.Add.ScatterLine(_trainSteps.ToArray(), _train.ToArray());
            train.LegendText = "train";
        }

        if (_val.Count > 0)
        {
            var val = plot.Add.Scatter(_valSteps.ToArray(), _val.ToArray());
            val.LegendText = "validation";
            val.LineWidth = 2;
        }

        plot.Title("GPT-2 loss");
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats)");
        plot.ShowLegend();
        byte[] png = plot.GetImageBytes(900, 500, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
