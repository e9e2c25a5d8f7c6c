//! Host bindings generated from `wit/`, one module per world.

pub mod transformer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "transformer",
    });
}

pub mod generator {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "generator",
    });
}
