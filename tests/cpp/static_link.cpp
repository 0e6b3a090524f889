// static_link.cpp -- a C++17 user of the installed InterFormer-C: the header
// must compile as C++ and libinterformer.a must link statically with the
// flags of `pkg-config --static --cflags --libs interformer`.
//
//   static_link [ENCODER.ifg DECODER.ifg]
//
// Always: status names, the default options, and IF_ERR_IO (named as such by
// if_status_str, with a detail naming the file) for a file that does not
// exist. With graph files: their info, then an encode of a synthetic image
// and a session with one click, undone. Prints "ok" and exits 0, or prints
// what failed and exits 1.
#include <interformer.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const std::string &what) {
    if (!ok) {
        std::fprintf(stderr, "static_link: FAIL: %s\n", what.c_str());
        failures++;
    }
}

struct ModelFree {
    void operator()(if_model *m) const { if_model_free(m); }
};
struct FeaturesFree {
    void operator()(if_features *f) const { if_features_free(f); }
};
struct SessionFree {
    void operator()(if_session *s) const { if_session_free(s); }
};
using Model = std::unique_ptr<if_model, ModelFree>;
using Features = std::unique_ptr<if_features, FeaturesFree>;
using Session = std::unique_ptr<if_session, SessionFree>;

Model load(const char *path) {
    if_model *m = nullptr;
    if_status s = if_model_load(path, nullptr, &m);
    expect(s == IF_OK,
           std::string("loading ") + path + ": " + if_status_str(s) + ": " + if_last_error());
    return Model(m);
}

void print_info(const if_model *m, const char *path) {
    if_model_info info{};
    expect(if_model_get_info(m, &info) == IF_OK, "if_model_get_info");
    std::printf("%s: %s, name %s, identity %.16s..., %lld params, channels %d %d %d %d\n", path,
                info.kind == IF_MODEL_ENCODER ? "encoder" : "decoder", info.name, info.identity,
                static_cast<long long>(info.n_params), info.feature_channels[0],
                info.feature_channels[1], info.feature_channels[2], info.feature_channels[3]);
}

} // namespace

int main(int argc, char **argv) {
    for (int s = 0; s < IF_STATUS_COUNT_; s++) {
        const char *name = if_status_str(static_cast<if_status>(s));
        expect(name && *name, "if_status_str(" + std::to_string(s) + ")");
    }
    expect(if_status_str(static_cast<if_status>(1000)) != nullptr, "if_status_str(1000)");
    expect(std::strcmp(if_status_str(IF_OK), if_status_str(IF_ERR_IO)) != 0,
           "distinct status names");

    if_options opt = if_default_options();
    expect(opt.n_threads == 1 && opt.max_clicks == 64, "if_default_options");

    if_model *bad = nullptr;
    if_status s = if_model_load("/nonexistent/interformer/none.ifg", &opt, &bad);
    expect(s == IF_ERR_IO, std::string("missing file gives IF_ERR_IO, got ") + if_status_str(s));
    expect(bad == nullptr, "no model for a missing file");
    expect(*if_last_error() != 0, "a detail for a missing file");
    // The status's name says what went wrong ("i/o error"), and the detail
    // names the file.
    expect(std::strstr(if_status_str(s), "i/o") != nullptr,
           std::string("if_status_str(IF_ERR_IO) names it, got \"") + if_status_str(s) + "\"");
    expect(std::strstr(if_last_error(), "none.ifg") != nullptr,
           std::string("the detail names the file, got \"") + if_last_error() + "\"");
    std::printf("missing file: %s: %s\n", if_status_str(s), if_last_error());

    if (argc >= 3) {
        Model enc = load(argv[1]), dec = load(argv[2]);
        if (enc && dec) {
            print_info(enc.get(), argv[1]);
            print_info(dec.get(), argv[2]);
            // A synthetic 70 x 50 RGB gradient, encoded, then one click.
            const int w = 70, h = 50;
            std::vector<std::uint8_t> rgb(static_cast<size_t>(w) * h * 3);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    std::uint8_t *p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
                    p[0] = static_cast<std::uint8_t>(x * 255 / w);
                    p[1] = static_cast<std::uint8_t>(y * 255 / h);
                    p[2] = static_cast<std::uint8_t>((x + y) & 0xff);
                }
            if_features *fp = nullptr;
            s = if_encode_rgb8(enc.get(), rgb.data(), w, h, static_cast<size_t>(w) * 3, &fp);
            Features feat(fp);
            expect(s == IF_OK, std::string("encode: ") + if_status_str(s) + ": " + if_last_error());
            if_session *sp = nullptr;
            if (feat) {
                s = if_session_new(dec.get(), feat.get(), &sp);
                expect(s == IF_OK,
                       std::string("session: ") + if_status_str(s) + ": " + if_last_error());
            }
            Session sess(sp);
            if (sess) {
                s = if_session_add_click(sess.get(), if_click{w / 2, h / 2, 1});
                expect(s == IF_OK, std::string("click: ") + if_status_str(s));
                expect(if_session_click_count(sess.get()) == 1, "one click");
                const std::uint8_t *mask = if_session_mask(sess.get());
                long fg = 0;
                for (int i = 0; mask && i < w * h; i++) fg += mask[i] != 0;
                std::printf("session: %dx%d, 1 click, mask %ld px\n", w, h, fg);
                expect(if_session_undo(sess.get()) == IF_OK, "undo");
                expect(if_session_click_count(sess.get()) == 0, "no click after undo");
                expect(if_session_add_click(sess.get(), if_click{w, 0, 1}) == IF_ERR_INVALID_ARG,
                       "a click outside the image is IF_ERR_INVALID_ARG");
            }
        }
    }
    if (failures) {
        std::fprintf(stderr, "static_link: %d failure(s)\n", failures);
        return 1;
    }
    std::printf("static_link: ok\n");
    return 0;
}
