namespace Gpt2.Model;

/// <summary>
/// The Mersenne Twister with PyTorch's seeding and normal sampling, as llm.c's rand.h, so that a model
/// initialised from a seed here draws the same random numbers as llm.c (and <c>torch.manual_seed</c>); the Box-Muller
/// transform uses .NET's MathF, so a value may differ from C's libm in the last bit.
/// </summary>
internal sealed class TorchMersenneTwister
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908b0df;
    private readonly uint[] _state = new uint[N];
    private int _left = 1;
    private int _next;

    public TorchMersenneTwister(uint seed)
    {
        _state[0] = seed;
        for (uint j = 1; j < N; j++)
        {
            _state[j] = 1812433253u * (_state[j - 1] ^ (_state[j - 1] >> 30)) + j;
        }
    }

    public uint NextUInt32()
    {
        if (--_left <= 0)
        {
            Twist();
        }

        uint y = _state[_next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A float in [0, 1) from the low 24 bits, as torch.</summary>
    public float NextSingle() => (NextUInt32() & ((1u << 24) - 1)) * (1.0f / (1u << 24));

    /// <summary>A double in [0, 1) from 53 bits, as torch.</summary>
    public double NextDouble()
    {
        ulong hi = NextUInt32();
        ulong lo = NextUInt32();
        return (((hi << 32) | lo) & ((1ul << 53) - 1)) * (1.0 / (1ul << 53));
    }

    /// <summary>Fills with normal samples exactly as torch's <c>normal_</c> on a CPU float tensor.</summary>
    public void FillNormal(Span<float> data, float mean, float std)
    {
        const float epsilon = 1e-12f;
        if (data.Length >= 16)
        {
            // torch's vectorised path: uniforms first, then Box-Muller on blocks of 16 (pairs i, i+8),
            // redoing the last 16 with fresh uniforms when the length is not a multiple of 16.
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = NextSingle();
            }

            for (int i = 0; i + 16 <= data.Length; i += 16)
            {
                BoxMuller16(data.Slice(i, 16), mean, std, epsilon);
            }

            if (data.Length % 16 != 0)
            {
                var tail = data[^16..];
                for (int i = 0; i < 16; i++)
                {
                    tail[i] = NextSingle();
                }

                BoxMuller16(tail, mean, std, epsilon);
            }

            return;
        }

        double? pending = null;
        for (int t = 0; t < data.Length; t++)
        {
            if (pending is double p)
            {
                data[t] = (float)(p * std + mean);
                pending = null;
                continue;
            }

            float u1 = (float)NextDouble();
            float u2 = (float)NextDouble();
            float radius = MathF.Sqrt(-2 * MathF.Log(1 - u2 + epsilon));
            float theta = (float)(2.0 * Math.PI * u1);
            pending = radius * MathF.Sin(theta);
            data[t] = radius * MathF.Cos(theta) * std + mean;
        }
    }

    private static void BoxMuller16(Span<float> data, float mean, float std, float epsilon)
    {
        for (int t = 0; t < 8; t++)
        {
            float u1 = 1 - data[t];
            float u2 = data[t + 8];
            float radius = MathF.Sqrt(-2 * MathF.Log(u1 + epsilon));
            float theta = (float)(2.0 * Math.PI * u2);
            data[t] = radius * MathF.Cos(theta) * std + mean;
            data[t + 8] = radius * MathF.Sin(theta) * std + mean;
        }
    }

    private void Twist()
    {
        _left = N;
        _next = 0;
        int j;
        uint y;
        for (j = 0; j < N - M; j++)
        {
            y = (_state[j] & 0x80000000u) | (_state[j + 1] & 0x7fffffffu);
            _state[j] = _state[j + M] ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0);
        }

        for (; j < N - 1; j++)
        {
            y = (_state[j] & 0x80000000u) | (_state[j + 1] & 0x7fffffffu);
            _state[j] = _state[j + M - N] ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0);
        }

        y = (_state[N - 1] & 0x80000000u) | (_state[0] & 0x7fffffffu);
        _state[N - 1] = _state[M - 1] ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0);
    }
}
