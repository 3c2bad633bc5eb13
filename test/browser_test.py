#!/usr/bin/python3
"""browser_test.py - the upload page in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium): opens the page, chooses an X-ray in
the form (a PNG, JPEG or DICOM file), submits it, checks the result page
and saves a screenshot.

  /usr/bin/python3 test/browser_test.py --url http://127.0.0.1:PORT/ \
      --image X.jpeg --screenshot OUT.png --profile FRESH_DIR

Exit status 0 when the result page shows a verdict, a probability, both
images and the notice."""
import argparse
import os
import shutil
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1000,1400",
                 "--user-data-dir=" + profile):
        options.add_argument(flag)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--profile", required=True, help="a fresh Chromium profile dir")
    args = ap.parse_args()
    os.makedirs(args.profile, exist_ok=True)

    d = browser(args.profile)
    try:
        d.set_page_load_timeout(120)
        d.get(args.url)
        assert "Pneumonia detector" in d.title, d.title
        d.find_element(By.ID, "xray").send_keys(os.path.abspath(args.image))
        if args.image.endswith(".dcm"):
            # Browsers cannot show DICOM: app.js says so instead of a preview.
            WebDriverWait(d, 10).until(
                lambda drv: "DICOM" in drv.find_element(By.ID, "status").text)
        else:
            # app.js shows a preview of the chosen file.
            WebDriverWait(d, 10).until(
                lambda drv: drv.find_element(By.ID, "preview").get_attribute("hidden") is None)
        d.find_element(By.ID, "submit").click()
        WebDriverWait(d, 120).until(
            expected_conditions.presence_of_element_located((By.ID, "verdict")))
        verdict = d.find_element(By.ID, "verdict").text
        assert verdict in ("NORMAL", "PNEUMONIA"), verdict
        probability = d.find_element(By.ID, "probability").text
        assert probability.endswith("%"), probability
        images = d.find_elements(By.CSS_SELECTOR, "figure img")
        assert len(images) == 2, len(images)
        for img in images:
            # Decoded and shown (naturalWidth is 0 for a broken image).
            width = d.execute_script("return arguments[0].naturalWidth", img)
            assert width > 0, "an image did not load"
        assert "This is not a diagnosis" in d.page_source
        # The stylesheet applied (the verdict box has a border colour).
        colour = d.find_element(By.CSS_SELECTOR, ".verdict").value_of_css_property(
            "border-top-color")
        assert colour not in ("", "rgba(0, 0, 0, 0)"), colour
        height = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(1000, min(max(int(height) + 40, 800), 3000))
        assert d.save_screenshot(args.screenshot), "cannot write " + args.screenshot
        print("result page: %s %s; screenshot %s" % (verdict, probability, args.screenshot))
    finally:
        d.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
