// A copy button, for browsers with JavaScript: shows each `button[data-copy]` (hidden without JavaScript: the
// text stays plainly selectable) and copies the value of the field it names, saying so in the status next to it.
(function () {
  'use strict';
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    if (!field || !navigator.clipboard) return;
    var status = button.closest('section') && button.closest('section').querySelector('.copy-status');
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(field.value).then(
        function () {
          if (status) status.textContent = 'Copied.';
        },
        function () {
          field.select();
          if (status) status.textContent = 'Select the link and copy it.';
        },
      );
    });
  });
})();
