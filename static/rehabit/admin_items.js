"use strict";
// Plan and template exercise rows: move up/down buttons and drag-and-drop that
// rewrite the position boxes, and pictures in the exercise picker. The position
// boxes still work without JavaScript: rows are renumbered 1..n on save.
{
    const $ = django.jQuery;

    // Show each exercise's drawing in the autocomplete results.
    const base = $.fn.djangoAdminSelect2;
    const renderOption = (item) => {
        if (!item.id || !item.image) {
            return item.text;
        }
        const row = $('<span class="rehabit-option"></span>');
        $("<img alt=\"\">").attr("src", item.image).appendTo(row);
        const label = $("<span></span>").text(item.text);
        if (item.category) {
            $("<small></small>").text(item.category).appendTo(label);
        }
        return row.append(label);
    };
    $.fn.djangoAdminSelect2 = function () {
        $.each(this, function (i, element) {
            if (element.dataset.modelName !== "planitem" && element.dataset.modelName !== "templateitem") {
                base.call($(element));
                return;
            }
            $(element).select2({
                templateResult: renderOption,
                ajax: {
                    data: (params) => ({
                        term: params.term,
                        page: params.page,
                        app_label: element.dataset.appLabel,
                        model_name: element.dataset.modelName,
                        field_name: element.dataset.fieldName,
                    }),
                },
            });
        });
        return this;
    };

    // A new row takes the picked exercise's default dosage; the therapist then
    // adjusts it. Rows already saved keep what the therapist prescribed.
    $(document).on("select2:select", ".rehabit-items select[name$='-exercise']", (event) => {
        const dosage = event.params.data.dosage;
        const row = event.target.closest("tr");
        const saved = row.querySelector("input[name$='-id']");
        if (!dosage || (saved && saved.value)) {
            return;
        }
        const prefix = event.target.name.slice(0, -"exercise".length);
        for (const [name, value] of Object.entries(dosage)) {
            const input = row.querySelector(`[name="${prefix}${name}"]`);
            if (input) {
                input.value = value === null ? "" : value;
            }
        }
    });

    const rows = (group) => Array.from(group.querySelectorAll("tbody tr.form-row:not(.empty-form)"));

    const renumber = (group) => {
        let n = 1;
        for (const row of rows(group)) {
            const del = row.querySelector('input[name$="-DELETE"]');
            const order = row.querySelector("input.rehabit-order");
            if (order && !(del && del.checked)) {
                order.value = n++;
            }
        }
    };

    const addControls = (group, row) => {
        const cell = row.querySelector("td.field-order");
        if (!cell || cell.querySelector(".rehabit-move")) {
            return;
        }
        const box = document.createElement("span");
        box.className = "rehabit-move";
        for (const [label, dir] of [["▲", -1], ["▼", 1]]) {
            const button = document.createElement("button");
            button.type = "button";
            button.textContent = label;
            // gettext comes from the admin's JavaScript catalogue (admin:jsi18n), which
            // also carries locale/*/LC_MESSAGES/djangojs.mo.
            button.setAttribute("aria-label", dir < 0 ? gettext("Move up") : gettext("Move down"));
            button.addEventListener("click", () => {
                const sibling = dir < 0 ? row.previousElementSibling : row.nextElementSibling;
                if (sibling && sibling.classList.contains("form-row") && !sibling.classList.contains("empty-form")) {
                    if (dir < 0) {
                        sibling.before(row);
                    } else {
                        sibling.after(row);
                    }
                    renumber(group);
                    button.focus();
                }
            });
            box.appendChild(button);
        }
        cell.appendChild(box);
        row.draggable = true;
        row.addEventListener("dragstart", (e) => {
            if (e.target.closest("input, textarea, select, .select2")) {
                e.preventDefault();
                return;
            }
            row.classList.add("rehabit-dragging");
            e.dataTransfer.effectAllowed = "move";
        });
        row.addEventListener("dragend", () => {
            row.classList.remove("rehabit-dragging");
            renumber(group);
        });
        row.addEventListener("dragover", (e) => {
            const dragging = group.querySelector("tr.rehabit-dragging");
            if (!dragging || dragging === row) {
                return;
            }
            e.preventDefault();
            const rect = row.getBoundingClientRect();
            if (e.clientY < rect.top + rect.height / 2) {
                row.before(dragging);
            } else {
                row.after(dragging);
            }
        });
    };

    document.addEventListener("DOMContentLoaded", () => {
        for (const group of document.querySelectorAll(".rehabit-items")) {
            for (const row of rows(group)) {
                addControls(group, row);
            }
        }
    });
    document.addEventListener("formset:added", (event) => {
        const group = event.target.closest(".rehabit-items");
        if (group) {
            addControls(group, event.target);
            renumber(group);
        }
    });
}
