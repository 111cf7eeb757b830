"""Readable by everyone: axe-core, run inside Chromium, finds nothing on any page with a trained
model on screen (minor and moderate findings too: headings out of order lose a screen reader's
user), and the navigation draws Streamlit's Material icons, not emoji.

axe-core comes from npm (tests/package.json, installed by tests/run.sh into tests/node_modules).
"""

import pytest

from browser import ROOT, generate, new_page, open_app, train_to_the_end, wait_until_idle

AXE = ROOT / "tests" / "node_modules" / "axe-core" / "axe.min.js"

# Every page of the navigation: (its title there, its address, what is on it once it is drawn).
# A new page is one more line; the navigation test fails until it is here.
PAGES = [
    ("Train", "/", [".js-plotly-plot", ".sample-text", ".st-key-resume_button", ".st-key-lesson_panel"]),
    ("Generate", "/generate", [".sample-text", ".st-key-next_char_chart .js-plotly-plot"]),
    ("Inspect", "/inspect", [".attribution", ".st-key-hidden_map .js-plotly-plot"]),
    ("Compare", "/compare", [".st-key-compare_chart .js-plotly-plot", ".sample-text"]),
    ("How it works", "/how_it_works", [".katex"]),
    ("Lessons", "/lessons", ["h1:has-text('Lessons')", ".st-key-lesson_step_box"]),
    ("Room", "/room", ["h1:has-text('Room board')", ".st-key-board_code input"]),
]

# Violations in Streamlit's own markup, which the app cannot change: (axe rule, the element it is
# excused on, why). Never the app's own markup.
STREAMLIT_MARKUP = [
    # st.toast (Streamlit 1.67's frontend, react-aria's Toast) gives its role="alertdialog" box
    # aria-labelledby an id that no element has: Streamlit renders no title slot in it. The toast
    # text itself is read out (its content has role="alert"). It shows for a few seconds after
    # Train from scratch ("The previous run is kept on the Compare page").
    ("aria-dialog-name", "[data-testid=stToast]", "Streamlit's toast names itself after an element it does not render"),
    # st.file_uploader's drop zone is a <section role="presentation"> with an aria-label and
    # tabindex="-1" (minor): the label makes axe doubt the role. Its "Browse files" button, which
    # keyboards and screen readers use, is named and focusable.
    ("presentation-role-conflict", "[data-testid=stFileUploaderDropzone]", "Streamlit's upload drop zone labels a presentational section"),
]
EMOJI = r"/[\p{Extended_Pictographic}\u{1F1E6}-\u{1F1FF}\u{FE0F}]/u"


@pytest.fixture(scope="module")
def trained(server, browser):
    """One session with a trained model, a run kept from before it, a generated sample and a lesson open."""
    assert AXE.exists(), f"axe-core is not installed at {AXE}: npm ci --prefix tests (tests/run.sh does it)"
    page = new_page(browser)
    open_app(page, f"{server}/?preset=help!&epochs=20&lesson=temperature&step=2")  # its step in the sidebar on every page
    train_to_the_end(page)
    train_to_the_end(page, from_scratch=True)  # the first run stays on Compare
    go_to(page, "Generate", f"{server}/generate")
    generate(page, "h")
    page.locator(".sample-text").wait_for(timeout=30_000)
    yield page
    page.context.close()


def go_to(page, title, url):
    """Open a page from the navigation, as a user does (the session, and its sample, stay)."""
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text=title).click()
    page.wait_for_url(lambda address: address.split("?")[0] == url, timeout=30_000)
    wait_until_idle(page)


def axe_violations(page):
    """axe-core's violations on the page, of any impact, those in STREAMLIT_MARKUP left out."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (excused) => {
            const results = await axe.run(document, {elementRef: true, resultTypes: ["violations"]});
            return results.violations.map(rule => ({
                id: rule.id, impact: rule.impact, help: rule.help,
                nodes: rule.nodes
                    .filter(node => !excused.some(([id, selector]) => id === rule.id && node.element && node.element.closest(selector)))
                    .map(node => ({target: node.target.join(" "), html: node.html.slice(0, 200), summary: node.failureSummary})),
            })).filter(rule => rule.nodes.length);
        }""",
        [[rule, selector] for rule, selector, _ in STREAMLIT_MARKUP],
    )


def described(violations):
    return "\n".join(
        f"{rule['impact']} {rule['id']}: {rule['help']}\n" + "\n".join(f"    {node['target']}\n      {node['html']}\n      {node['summary']}" for node in rule["nodes"])
        for rule in violations
    )


@pytest.mark.parametrize(("title", "path", "drawn"), PAGES, ids=[title for title, _, _ in PAGES])
def test_axe_finds_nothing_serious_on_the_page(trained, server, title, path, drawn):
    page = trained
    go_to(page, title, server + path)
    for selector in drawn:
        page.locator(selector).first.wait_for(timeout=30_000)
    wait_until_idle(page)
    violations = axe_violations(page)
    assert not violations, f"axe-core on {title} ({path}):\n{described(violations)}"


def test_the_navigation_draws_material_icons_not_emoji(trained):
    page = trained
    links = page.evaluate(
        f"""async () => {{
            await document.fonts.ready;
            return Array.from(document.querySelectorAll('[data-testid=stSidebarNavLink]')).map(link => {{
                const icon = link.querySelector('[data-testid=stIconMaterial]');
                const label = link.querySelector('[data-testid=stMarkdownContainer]');
                return {{
                    label: label ? label.innerText : link.innerText,
                    emoji: {EMOJI}.test(link.innerText),
                    iconFont: icon ? getComputedStyle(icon).fontFamily : null,
                    iconHidden: icon ? icon.getAttribute('aria-hidden') : null,
                    fontLoaded: Array.from(document.fonts).some(face => face.family.replace(/"/g, '') === 'Material Symbols Rounded' && face.status === 'loaded'),
                    // drawn as one glyph, not as its ligature's name ("model_training") in letters
                    iconSquare: icon ? icon.getBoundingClientRect().width < 1.5 * icon.getBoundingClientRect().height : false,
                }};
            }});
        }}"""
    )
    assert [link["label"] for link in links] == [title for title, _, _ in PAGES]  # every page of the navigation is checked above
    for link in links:
        assert not link["emoji"], link
        assert link["iconFont"] and "Material Symbols" in link["iconFont"] and link["fontLoaded"] and link["iconSquare"], link
        assert link["iconHidden"] == "true", link  # the icon's ligature name is not read out

