#include "phantoms.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

namespace countylink::synth {

namespace {

using std::numbers::pi;

// Fraction in [0, 1] of a point inside an ellipse (centre cx, cy; semi-axes a, b), with a
// linear soft edge `edge` wide (same units as the coordinates), approximately anti-aliased.
double ellipse_cover(double x, double y, double cx, double cy, double a, double b, double edge) {
    if (std::abs(x - cx) > a + edge || std::abs(y - cy) > b + edge) return 0.0;  // fast path
    const double dx = (x - cx) / a;
    const double dy = (y - cy) / b;
    const double r = std::sqrt(dx * dx + dy * dy);
    const double signed_distance = (r - 1.0) * std::min(a, b);
    return std::clamp(0.5 - signed_distance / edge, 0.0, 1.0);
}

// Like ellipse_cover() for the rounded rectangle |dx/a|^4 + |dy/b|^4 <= 1.
double superellipse_cover(double x, double y, double cx, double cy, double a, double b,
                          double edge) {
    const double dx = (x - cx) / a;
    const double dy = (y - cy) / b;
    const double r = std::sqrt(std::sqrt(dx * dx * dx * dx + dy * dy * dy * dy));
    const double signed_distance = (r - 1.0) * std::min(a, b);
    return std::clamp(0.5 - signed_distance / edge, 0.0, 1.0);
}

// `base` moved towards `target` by fraction `cover`.
double blend(double base, double target, double cover) {
    return base + (target - base) * cover;
}

// Smooth 0..1 ramp between edge0 and edge1.
double smoothstep(double edge0, double edge1, double x) {
    const double t = std::clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

// Rounds and clamps to [lo, hi].
std::uint16_t to_stored(double value, double lo, double hi) {
    return static_cast<std::uint16_t>(std::lround(std::clamp(value, lo, hi)));
}

// A small round cross-section (lung vessel, rib): centre (mm) and radius (mm).
struct Vessel {
    double x;
    double y;
    double radius;
};

}  // namespace

std::vector<std::uint16_t> ct_slice(std::uint16_t rows, std::uint16_t cols, double pixel_mm,
                                    double position, std::uint64_t anatomy_seed, Rng& noise) {
    const double lung_scale = 0.45 + 0.55 * std::sin(pi * (0.1 + 0.85 * position));
    const double heart_scale =
        smoothstep(0.25, 0.55, position) * (1.0 - smoothstep(0.9, 1.05, position));
    const double lung_a = 52.0 * lung_scale;  // lung semi-axes (mm)
    const double lung_b = 74.0 * lung_scale;

    // The same vessel tree for every slice of a series, drifting slowly along the series.
    Rng anatomy{anatomy_seed};
    std::array<std::vector<Vessel>, 2> vessels;  // [0] right lung (x < 0), [1] left lung
    for (std::size_t side = 0; side < 2; ++side) {
        const double sign = side == 0 ? -1.0 : 1.0;
        for (int i = 0; i < 45; ++i) {
            const double angle = anatomy.uniform(0.0, 2.0 * pi);
            const double radius = std::sqrt(anatomy.uniform()) * 0.85;
            const double vessel_radius = anatomy.uniform(0.8, 2.6);
            const double shift = 0.06 * std::sin(position * 9.0 + anatomy.uniform(0.0, 2 * pi));
            vessels[side].push_back(
                {sign * 68.0 + (sign * radius * std::cos(angle) + shift) * lung_a,
                 (radius * std::sin(angle) + shift) * lung_b, vessel_radius});
        }
    }

    const double fov_radius = pixel_mm * std::min(rows, cols) / 2.0;
    const double edge = pixel_mm;

    std::array<Vessel, 14> ribs{};  // cross-sections around the chest wall, clear of the
    for (std::size_t k = 0; k < ribs.size(); ++k) {  // sternum and the spine
        const double side_angle = pi * (-0.40 + static_cast<double>(k % 7) * 0.13);
        const double angle = k < 7 ? side_angle : pi - side_angle;
        ribs[k] = {138.0 * std::cos(angle), 5.0 + 95.0 * std::sin(angle), 5.5};
    }

    std::vector<double> texture_x(cols);  // separable lung parenchyma texture
    for (std::uint32_t c = 0; c < cols; ++c) {
        texture_x[c] = std::sin((c + 0.5 - cols / 2.0) * pixel_mm * 0.21);
    }

    std::vector<std::uint16_t> pixels(static_cast<std::size_t>(rows) * cols);
    for (std::uint32_t r = 0; r < rows; ++r) {
        const double y = (r + 0.5 - rows / 2.0) * pixel_mm;  // + is posterior
        const double texture_y = std::cos(y * 0.17);
        for (std::uint32_t c = 0; c < cols; ++c) {
            const double x = (c + 0.5 - cols / 2.0) * pixel_mm;  // + is patient left
            auto& out = pixels[static_cast<std::size_t>(r) * cols + c];
            if (x * x + y * y > fov_radius * fov_radius) {
                out = 0;
                continue;
            }
            double hu = -1000.0;
            if (std::abs(x) < 170.0 && y > 132.0 && y < 142.0) hu = -250.0;     // table top
            hu = blend(hu, -100.0, ellipse_cover(x, y, 0, 5, 162, 118, edge));  // subcut. fat
            hu = blend(hu, 45.0, ellipse_cover(x, y, 0, 5, 150, 106, edge));    // muscle
            for (const auto& rib : ribs) {
                hu = blend(hu, 750.0,
                           ellipse_cover(x, y, rib.x, rib.y, rib.radius, rib.radius, edge));
            }
            double lung_cover = 0.0;
            for (std::size_t side = 0; side < 2; ++side) {
                const double cx = side == 0 ? -68.0 : 68.0;
                const double cover = ellipse_cover(x, y, cx, 0.0, lung_a, lung_b, edge);
                if (cover <= 0.0) continue;
                double lung = -850.0 + 20.0 * texture_x[c] * texture_y;
                for (const auto& vessel : vessels[side]) {
                    lung = blend(lung, 30.0,
                                 ellipse_cover(x, y, vessel.x, vessel.y, vessel.radius,
                                               vessel.radius, edge));
                }
                hu = blend(hu, lung, cover);
                lung_cover = std::max(lung_cover, cover);
            }
            if (heart_scale > 0.05) {
                hu = blend(hu, 40.0,
                           ellipse_cover(x, y, 18, -12, 62 * heart_scale, 50 * heart_scale, edge));
            }
            hu = blend(hu, 42.0, ellipse_cover(x, y, 24, 56, 12, 12, edge));   // aorta
            hu = blend(hu, 900.0, ellipse_cover(x, y, 0, 74, 21, 19, edge));   // vertebral body
            hu = blend(hu, 320.0, ellipse_cover(x, y, 0, 74, 18, 16, edge));   // cancellous
            hu = blend(hu, 700.0, ellipse_cover(x, y, 0, 110, 14, 17, edge));  // neural arch
            hu = blend(hu, 20.0, ellipse_cover(x, y, 0, 104, 8, 8, edge));     // spinal canal
            hu = blend(hu, 550.0, ellipse_cover(x, y, 0, -96, 14, 6, edge));   // sternum
            const double sigma = lung_cover > 0.5 ? 14.0 : 10.0;
            out = to_stored(hu + 1024.0 + sigma * noise.rough_normal(), 0.0, 4095.0);
        }
    }
    return pixels;
}

std::vector<std::uint16_t> chest_radiograph(std::uint16_t rows, std::uint16_t cols, Rng& rng) {
    const double tilt = rng.uniform(-0.02, 0.02);  // patient slightly off centre
    const double exposure = rng.uniform(0.9, 1.1);
    const double edge = 2.0 / std::min(rows, cols);
    std::vector<std::uint16_t> pixels(static_cast<std::size_t>(rows) * cols);
    for (std::uint32_t r = 0; r < rows; ++r) {
        const double v = (r + 0.5) / rows;
        for (std::uint32_t c = 0; c < cols; ++c) {
            const double u = (c + 0.5) / cols - tilt;
            double value = 250.0;  // air
            const double trunk = superellipse_cover(u, v, 0.5, 0.6, 0.46, 0.52, edge);
            value = blend(value, 1900.0, trunk);
            value = blend(value, 1950.0, ellipse_cover(u, v, 0.5, 0.04, 0.08, 0.14, edge));
            const double lung_value = 750.0 + 350.0 * smoothstep(0.35, 0.1, v);
            value = blend(value, lung_value, ellipse_cover(u, v, 0.31, 0.47, 0.15, 0.29, edge));
            value = blend(value, lung_value, ellipse_cover(u, v, 0.69, 0.47, 0.14, 0.28, edge));
            value = blend(value, 2300.0, ellipse_cover(u, v, 0.5, 0.42, 0.065, 0.3, edge));
            value = blend(value, 2350.0, ellipse_cover(u, v, 0.57, 0.62, 0.16, 0.13, edge));
            const double dome = std::min(0.74 + 2.2 * (u - 0.31) * (u - 0.31),
                                         0.77 + 2.2 * (u - 0.69) * (u - 0.69));
            value = blend(value, 2400.0, trunk * smoothstep(dome - edge, dome + edge, v));
            value += 550.0 * trunk * std::exp(-std::pow((u - 0.5) / 0.03, 2.0));  // spine
            const double du = std::abs(u - 0.5);
            if (du > 0.04 && du < 0.44) {
                for (int k = 0; k < 10; ++k) {  // posterior ribs
                    const double centre = 0.17 + k * 0.058 + 0.55 * (du - 0.04) * (du - 0.04);
                    value += 330.0 * trunk * std::exp(-std::pow((v - centre) / 0.011, 2.0));
                }
                const double clavicle = 0.2 - 0.2 * (du - 0.04);
                if (du < 0.3) value += 450.0 * std::exp(-std::pow((v - clavicle) / 0.012, 2.0));
            }
            const double noisy = value * exposure + (18.0 + 0.01 * value) * rng.normal();
            pixels[static_cast<std::size_t>(r) * cols + c] = to_stored(noisy, 0.0, 4095.0);
        }
    }
    return pixels;
}

SectorGeometry sector_geometry(std::uint16_t rows, std::uint16_t cols) {
    const double s = rows / 480.0;
    return {cols / 2.0, 28.0 * s, 22.0 * s, rows - 40.0 * s, 0.62, 16.0};
}

std::vector<std::uint8_t> ultrasound_rgb(std::uint16_t rows, std::uint16_t cols, Rng& rng) {
    const std::size_t n = static_cast<std::size_t>(rows) * cols;
    // Speckle: Rayleigh amplitudes, box-blurred 7 wide x 3 high into laterally long grains.
    std::vector<float> raw(n);
    for (auto& value : raw) {
        value = static_cast<float>(std::sqrt(-2.0 * std::log(1.0 - rng.uniform())));
    }
    std::vector<float> speckle(n, 0.0F);
    for (std::uint32_t r = 0; r < rows; ++r) {
        for (std::uint32_t c = 0; c < cols; ++c) {
            float sum = 0.0F;
            int taps = 0;
            for (int dr = -1; dr <= 1; ++dr) {
                for (int dc = -3; dc <= 3; ++dc) {
                    const int rr = static_cast<int>(r) + dr;
                    const int cc = static_cast<int>(c) + dc;
                    if (rr < 0 || cc < 0 || rr >= rows || cc >= cols) continue;
                    sum += raw[static_cast<std::size_t>(rr) * cols + cc];
                    ++taps;
                }
            }
            speckle[static_cast<std::size_t>(r) * cols + c] = sum / static_cast<float>(taps);
        }
    }

    const double s = rows / 480.0;  // anatomy is designed for 480 rows
    const auto [apex_x, apex_y, r_min, r_max, half_angle, depth_cm] = sector_geometry(rows, cols);
    std::vector<std::uint8_t> rgb(n * 3U, 0);
    for (std::uint32_t r = 0; r < rows; ++r) {
        for (std::uint32_t c = 0; c < cols; ++c) {
            const double dx = c - apex_x;
            const double dy = r - apex_y;
            const double radius = std::hypot(dx, dy);
            const double angle = std::atan2(dx, dy);
            if (radius < r_min || radius > r_max || std::abs(angle) > half_angle) continue;
            const double depth = (radius - r_min) / (r_max - r_min);  // 0..1
            double echo = 0.45;                                       // liver
            if (depth < 0.04)
                echo = 0.75;  // skin
            else if (depth < 0.08)
                echo = 0.25;  // fat
            else if (depth < 0.14)
                echo = 0.55 + 0.15 * std::sin(radius * 0.9);  // muscle
            const double x = c;
            const double y = r;
            const double gallbladder =
                ellipse_cover(x, y, apex_x + 60 * s, 230 * s, 62 * s, 36 * s, 3.0);
            const double vessel =
                ellipse_cover(x, y, apex_x - 70 * s, 290 * s, 17 * s, 14 * s, 2.0);
            const double behind = (x - apex_x - 60 * s) / (50 * s);  // posterior enhancement
            echo *= 1.0 + 0.35 * std::exp(-behind * behind * behind * behind) *
                              smoothstep(250 * s, 275 * s, y);
            echo = blend(echo, 0.03, std::max(gallbladder, vessel));
            echo += 0.6 * std::exp(-std::pow((depth - 0.86 - 0.03 * std::sin(angle * 4)) / 0.012,
                                             2.0));  // diaphragm
            const double gain = 1.0 - 0.25 * depth;  // residual attenuation after TGC
            const double amplitude = echo * gain * speckle[static_cast<std::size_t>(r) * cols + c];
            const auto grey = static_cast<std::uint8_t>(
                std::clamp(255.0 * std::pow(amplitude / 1.6, 0.8), 0.0, 255.0));
            std::uint8_t* px = &rgb[(static_cast<std::size_t>(r) * cols + c) * 3U];
            px[0] = px[1] = px[2] = grey;
        }
    }
    // Grey bar on the left and yellow 1 cm depth ticks with a green focus marker on the right.
    const auto paint = [&](std::uint32_t r, std::uint32_t c, std::uint8_t red, std::uint8_t green,
                           std::uint8_t blue) {
        if (r >= rows || c >= cols) return;
        std::uint8_t* px = &rgb[(static_cast<std::size_t>(r) * cols + c) * 3U];
        px[0] = red;
        px[1] = green;
        px[2] = blue;
    };
    const auto bar_top = static_cast<std::uint32_t>(rows / 4);
    const auto bar_height = static_cast<std::uint32_t>(rows / 2);
    for (std::uint32_t r = 0; r < bar_height; ++r) {
        const auto level = static_cast<std::uint8_t>(255U - r * 255U / bar_height);
        for (std::uint32_t c = 12; c < 22; ++c) paint(bar_top + r, c, level, level, level);
    }
    const double px_per_cm = (r_max - r_min) / depth_cm;
    const auto tick_x = static_cast<std::uint32_t>(cols - 34);
    for (int cm = 0; cm <= static_cast<int>(depth_cm); ++cm) {
        const auto y = static_cast<std::uint32_t>(apex_y + r_min + cm * px_per_cm);
        const std::uint32_t width = cm % 5 == 0 ? 10 : 5;
        for (std::uint32_t c = 0; c < width; ++c) {
            paint(y, tick_x + c, 230, 210, 40);
            paint(y + 1, tick_x + c, 230, 210, 40);
        }
    }
    const auto focus_y = static_cast<std::uint32_t>(apex_y + r_min + 8 * px_per_cm);
    for (std::uint32_t d = 0; d < 6; ++d) {
        for (std::uint32_t c = 0; c <= d; ++c) {
            paint(focus_y - 5 + d, tick_x + 14 + c, 60, 220, 80);
            paint(focus_y + 5 - d, tick_x + 14 + c, 60, 220, 80);
        }
    }
    return rgb;
}

CineFrames::CineFrames(std::uint16_t rows, std::uint16_t cols)
    : rows_(rows), cols_(cols), column_profile_(cols), row_profile_(rows) {
    for (std::uint32_t c = 0; c < cols; ++c) {
        column_profile_[c] = static_cast<float>(900.0 + 250.0 * std::sin(2.0 * pi * c / cols));
    }
    for (std::uint32_t r = 0; r < rows; ++r) {
        row_profile_[r] = static_cast<float>(200.0 * std::cos(pi * r / rows));
    }
}

void CineFrames::fill(std::uint32_t frame, std::uint32_t first_row, std::span<std::uint16_t> out,
                      Rng& rng) const {
    const double size = std::min(rows_, cols_);
    const double phase = 2.0 * pi * (frame % 60U) / 60.0;
    const double cx = cols_ / 2.0 + 0.25 * size * std::cos(phase);
    const double cy = rows_ / 2.0 + 0.25 * size * std::sin(phase);
    const double radius = 0.12 * size;
    const double inner = (radius - 1.0) * (radius - 1.0);
    const double outer = (radius + 1.0) * (radius + 1.0);
    const std::size_t band_rows = out.size() / cols_;
    for (std::size_t i = 0; i < band_rows; ++i) {
        const std::size_t r = first_row + i;
        const double dy = r + 0.5 - cy;
        for (std::size_t c = 0; c < cols_; ++c) {
            double value = column_profile_[c] + row_profile_[r];
            const double dx = c + 0.5 - cx;
            const double d2 = dx * dx + dy * dy;
            if (d2 < inner) {
                value = 2600.0;
            } else if (d2 < outer) {
                value = blend(value, 2600.0, std::clamp(radius + 0.5 - std::sqrt(d2), 0.0, 1.0));
            }
            out[i * cols_ + c] = to_stored(value + 15.0 * rng.rough_normal(), 0.0, 4095.0);
        }
    }
}

}  // namespace countylink::synth
