// Talking to the builder's views: JSON in and out, with the admin's CSRF token.

export const fmt = (text, values) =>
    text.replace(/%\((\w+)\)[sd]/g, (match, key) => (key in values ? String(values[key]) : match));

export const debounce = (fn, ms) => {
    let timer = null;
    return (...args) => {
        clearTimeout(timer);
        timer = setTimeout(() => fn(...args), ms);
    };
};

const csrfToken = () => document.querySelector("#pb-form [name=csrfmiddlewaretoken]").value;

const answer = async (response, strings) => {
    try {
        return { status: response.status, data: await response.json() };
    } catch {
        return { status: response.status, data: { ok: false, message: strings.failed } };
    }
};

export const getJSON = async (url, strings) => {
    try {
        return await answer(await fetch(url, { credentials: "same-origin" }), strings);
    } catch {
        return { status: 0, data: { ok: false, message: strings.offline } };
    }
};

export const postJSON = async (url, body, strings) => {
    try {
        const response = await fetch(url, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
            body: JSON.stringify(body),
        });
        return await answer(response, strings);
    } catch {
        return { status: 0, data: { ok: false, message: strings.offline } };
    }
};

// Show messages in a field's error list (hidden when there are none).
export const showErrors = (list, messages) => {
    if (!list) {
        return;
    }
    list.replaceChildren(
        ...(messages || []).map((message) => {
            const item = document.createElement("li");
            item.textContent = message;
            return item;
        }),
    );
    list.hidden = !messages || messages.length === 0;
};
