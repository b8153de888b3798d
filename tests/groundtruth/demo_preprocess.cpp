// Ground truth for rklab.measure.vision.preprocess: the OpenCV calls of Rockchip's multimodal demo
// (rknn-llm examples/multimodal_model_demo/deploy/src/main.cpp, 1.2.3 and 1.3.0), in the demo's
// order, written for rklab's tests. Usage: demo_preprocess IMAGE WIDTH HEIGHT OUT.raw
// Writes the resized RGB uint8 pixels (HEIGHT x WIDTH x 3) that the demo hands to the encoder.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

// Same steps as the demo's expand2square: a square of the background colour, the image pasted centred.
static cv::Mat to_square(const cv::Mat& img, const cv::Scalar& background) {
    if (img.cols == img.rows) return img.clone();
    const int side = std::max(img.cols, img.rows);
    cv::Mat square(side, side, img.type(), background);
    img.copyTo(square(cv::Rect((side - img.cols) / 2, (side - img.rows) / 2, img.cols, img.rows)));
    return square;
}

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s IMAGE WIDTH HEIGHT OUT.raw\n", argv[0]);
        return 2;
    }
    cv::Mat img = cv::imread(argv[1]);  // IMREAD_COLOR: BGR, EXIF orientation applied
    if (img.empty()) return 3;
    cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
    cv::Mat square = to_square(img, cv::Scalar(127.5, 127.5, 127.5));
    cv::Mat resized;
    cv::resize(square, resized, cv::Size(std::atoi(argv[2]), std::atoi(argv[3])), 0, 0, cv::INTER_LINEAR);
    FILE* out = std::fopen(argv[4], "wb");
    if (!out) return 4;
    const size_t n = resized.total() * resized.elemSize();
    const bool ok = std::fwrite(resized.data, 1, n, out) == n;
    std::fclose(out);
    return ok ? 0 : 5;
}
