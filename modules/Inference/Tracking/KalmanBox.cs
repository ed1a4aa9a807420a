using Inference.Processing;

namespace Inference.Tracking;

/// <summary>
/// A constant-velocity Kalman filter over a box (centre x, centre y, width, height, each with its velocity), in normalised
/// frame units per second. The four axes are independent (the block-diagonal form of SORT/DeepSORT's 8-state filter), so each
/// is a 2-state filter updated in closed form: no matrices, no allocation. Noise scales with the box size (DeepSORT's
/// <c>std_weight_position</c>/<c>std_weight_velocity</c> idea): a large box may move more in absolute terms.
/// </summary>
internal struct KalmanBox
{
    /// <summary>Measurement noise, as a fraction of the box's larger side (one standard deviation).</summary>
    public const float MeasurementStd = 0.1f;

    /// <summary>Process noise: white acceleration, box sides per second squared (one standard deviation).</summary>
    public const float AccelerationStd = 2f;

    /// <summary>Initial velocity uncertainty, box sides per second.</summary>
    public const float InitialVelocityStd = 2f;

    private Axis _x;
    private Axis _y;
    private Axis _w;
    private Axis _h;

    public KalmanBox(NormalizedBox box)
    {
        var s = Scale(box);
        var r = Sq(MeasurementStd * s);
        var v = Sq(InitialVelocityStd * s);
        _x = new Axis(box.X + (box.W / 2), r, v);
        _y = new Axis(box.Y + (box.H / 2), r, v);
        _w = new Axis(box.W, r, v / 4);
        _h = new Axis(box.H, r, v / 4);
    }

    /// <summary>The current estimate as a box.</summary>
    public readonly NormalizedBox Box
    {
        get
        {
            var w = MathF.Max(_w.P, 1e-4f);
            var h = MathF.Max(_h.P, 1e-4f);
            return new NormalizedBox(_x.P - (w / 2), _y.P - (h / 2), w, h);
        }
    }

    /// <summary>Centre velocity, normalised units per second.</summary>
    public readonly (float X, float Y) Velocity => (_x.V, _y.V);

    /// <summary>Moves the estimate <paramref name="dt"/> seconds forward (and grows its uncertainty).</summary>
    public void Predict(float dt)
    {
        if (dt <= 0)
        {
            return;
        }

        var q = Sq(AccelerationStd * Scale(Box));
        _x.Predict(dt, q);
        _y.Predict(dt, q);
        _w.Predict(dt, q / 16);
        _h.Predict(dt, q / 16);
    }

    /// <summary>Corrects the estimate with a measured box.</summary>
    public void Update(NormalizedBox box)
    {
        var r = Sq(MeasurementStd * Scale(box));
        _x.Update(box.X + (box.W / 2), r);
        _y.Update(box.Y + (box.H / 2), r);
        _w.Update(box.W, r);
        _h.Update(box.H, r);
    }

    /// <summary>Stops the velocity (an object that has been lost a while is assumed to have stopped, not to fly off).</summary>
    public void Damp(float factor)
    {
        _x.V *= factor;
        _y.V *= factor;
        _w.V *= factor;
        _h.V *= factor;
    }

    private static float Scale(NormalizedBox b) => MathF.Max(MathF.Max(b.W, b.H), 1e-3f);

    private static float Sq(float v) => v * v;

    /// <summary>Position p, velocity v and the symmetric covariance [[p00, p01], [p01, p11]].</summary>
    private struct Axis(float p, float r, float vv)
    {
        public float P = p;
        public float V;
        private float _p00 = r;
        private float _p01;
        private float _p11 = vv;

        /// <summary>x' = F x, P' = F P Fᵀ + Q with F = [[1, dt], [0, 1]] and Q the discrete white-acceleration noise.</summary>
        public void Predict(float dt, float q)
        {
            P += V * dt;
            var dt2 = dt * dt;
            _p00 += (2 * dt * _p01) + (dt2 * _p11) + (q * dt2 * dt2 / 4);
            _p01 += (dt * _p11) + (q * dt2 * dt / 2);
            _p11 += q * dt2;
        }

        /// <summary>Kalman gain K = P Hᵀ / (H P Hᵀ + R) with H = [1, 0]; x += K (z − p); P = (I − K H) P.</summary>
        public void Update(float z, float r)
        {
            var s = _p00 + r;
            var k0 = _p00 / s;
            var k1 = _p01 / s;
            var y = z - P;
            P += k0 * y;
            V += k1 * y;
            var p00 = _p00;
            var p01 = _p01;
            _p00 = (1 - k0) * p00;
            _p01 = (1 - k0) * p01;
            _p11 -= k1 * p01;
        }
    }
}
