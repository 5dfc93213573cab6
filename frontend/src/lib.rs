//! The browser entry point: installs the panic hook and hydrates the interactive islands of the
//! server-rendered pages (everything else is plain HTML and forms).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Keeps the app crate (and with it every island) in the bundle.
    use app as _;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
